/**
 * @packageDocumentation
 *
 * Carries many small messages and requests to a peer over one long-lived
 * stream (`/x/batch/1.0.0`, see PROTOCOL.md), in batches: one protocol
 * negotiation per stream instead of one per message, a few bytes of framing
 * per message, raw DEFLATE for large batches.
 *
 * **Adaptive flush**: with nothing in flight a message is written at once
 * (messages sent in the same tick share the batch); while a batch is in
 * flight (written this event-loop turn, or the stream pushed back) messages
 * gather and go out together when it completes, or earlier at
 * `maxBatchSize` messages, `maxBatchBytes` bytes, a `high` message, or
 * `batchTimeout`. Batches grow with load; latency stays low at light load.
 *
 * **Priorities**: `high` goes first and flushes at once; within a batch
 * higher priorities go first; each priority has its own bounded queue and
 * a tenth of every batch is kept for `low`, so no flood starves another.
 *
 * **Flow control**: on `/x/batch/1.1.0` the remote acknowledges frames once
 * handled and at most an adaptive window of bytes is unacknowledged, so
 * queued messages wait in the priority queues, not behind `low` bytes in
 * the buffers below (`/x/batch/1.0.0` without it, for peers that lack it).
 *
 * **Backpressure**: `send()` resolves once the batch carrying it is written
 * to the stream; when the peer's queue of that priority is full it waits,
 * and rejects with `QueueFullError` past `maxWaiting` waiting callers.
 *
 * **Requests**: `request()` is answered by the remote handler's return
 * value, over the same stream; it times out after `requestTimeout`, or
 * `@x/health`'s `getTimeout(peer)`, at least `minRequestTimeout`, when that
 * service is present (or
 * earlier, on its `signal`). A handler that takes longer than
 * `handlerTimeout` is answered for with an error.
 *
 * **Failover**: the stream is opened through `@x/connection-pool` when a
 * service offers that capability (placement and failover apply), else
 * through the connection manager; when it dies, messages not yet written
 * go out on the next stream (after an exponential back-off with jitter
 * when streams keep dying young or failing to open).
 *
 * **Delivery guarantee**: messages are delivered at most once, in order per
 * peer and priority; a request is answered or rejected, never both.
 *
 * **Bounds**: every queue, map and buffer has a limit (`limits`,
 * `maxQueueBytes`, `maxQueueLength`, `maxWaiting`, `maxPeers`, node-wide
 * `maxInboundSessions` and `maxPendingAnswerBytes`); bad input resets only
 * that stream, with a named error counted in the metrics.
 *
 * @example
 *
 * ```TypeScript
 * import { messageBatching } from '@x/message-batching'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   // ...transports, encrypters, muxers
 *   services: { batching: messageBatching({ batchTimeout: 10 }) }
 * })
 *
 * node.services.batching.handle('chat', (data, { peer }) => {
 *   console.info('%p says %s', peer, new TextDecoder().decode(data))
 * })
 * node.services.batching.handle('echo', (data) => data)
 *
 * // await node.services.batching.send(remotePeerId, 'chat', new TextEncoder().encode('hi'))
 * // const answer = await node.services.batching.request(remotePeerId, 'echo', new Uint8Array([1, 2, 3]))
 * ```
 */

import { MessageBatchingService } from './batching.ts'
import type { Priority } from './codec.ts'
import type { FlushCause } from './writer.ts'
import type { AbortOptions, ComponentLogger, Libp2pEvents, Metrics, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export { PROTOCOL, FLOW_PROTOCOL } from './constants.ts'
export { METRIC_SUFFIXES, metricName } from './metric-names.ts'
export * from './errors.ts'
export type { Priority, FlushCause }

export interface CompressionInit {
  /**
   * Batches of at least this many bytes (before compression) are deflated,
   * and sent deflated only when that makes them smaller
   *
   * @default 1024
   */
  threshold?: number

  /**
   * DEFLATE level, 0..9
   *
   * @default 6
   */
  level?: number
}

export interface BatchingLimitsInit {
  /**
   * Largest frame accepted, on the wire and inflated (PROTOCOL.md)
   *
   * @default 1048576
   */
  maxFrameBytes?: number

  /**
   * Largest message, request or answer, sent or accepted
   *
   * @default 262144
   */
  maxMessageBytes?: number

  /**
   * Most records accepted in one frame
   *
   * @default 4096
   */
  maxRecordsPerFrame?: number

  /**
   * Most names on one stream, each direction
   *
   * @default 1024
   */
  maxNames?: number

  /**
   * Most unanswered requests: per inbound stream (more resets it) and per
   * peer we send to (more rejects `request()` with `TooManyRequestsError`)
   *
   * @default 1024
   */
  maxInflightRequests?: number
}

export interface FlowControlInit {
  /**
   * Most bytes written to a stream and not yet acknowledged by the remote;
   * the window adapts below this to the measured round trip, so queued
   * messages wait in the priority queues rather than in the buffers below
   * (stream, muxer, sockets, the path)
   *
   * @default 1048576
   */
  maxUnackedBytes?: number

  /**
   * A stream with bytes written and unacknowledged that gets no ACK for
   * this long is reset (`AckTimeoutError`, counted in
   * `protocol_errors_total`) and opened again; messages not yet written go
   * out on the new stream, requests in flight reject with
   * `ResponseLostError`. Without it a remote that reads but never
   * acknowledges would stall every send to it forever; a remote whose
   * handlers keep its stream paused that long (see `maxRunningHandlers`)
   * counts as one too. Ms.
   *
   * @default 30000
   */
  ackTimeout?: number

  /**
   * The flow-controlled protocol id, offered before `protocol`
   *
   * @default '/x/batch/1.1.0' (or `protocol` + '/ack' when `protocol` is set)
   */
  protocol?: string
}

export interface MessageBatchingInit {
  /**
   * A batch holds at most this many messages and requests
   *
   * @default 100
   */
  maxBatchSize?: number

  /**
   * A batch holds about this many bytes of records at most (one larger
   * message is sent alone)
   *
   * @default 65536
   */
  maxBatchBytes?: number

  /**
   * The longest a queued message waits while a batch is in flight, ms
   *
   * @default 10
   */
  batchTimeout?: number

  /**
   * Write at once when nothing is in flight (false: flush only on size,
   * bytes, a `high` message or `batchTimeout`)
   *
   * @default true
   */
  adaptive?: boolean

  /**
   * Raw DEFLATE of large batches; `false` turns it off
   *
   * @default { threshold: 1024, level: 6 }
   */
  compression?: CompressionInit | false

  /**
   * Wire bounds (PROTOCOL.md)
   */
  limits?: BatchingLimitsInit

  /**
   * Flow control (PROTOCOL.md): streams are opened on the flow-controlled
   * protocol when the remote supports it, else on `protocol` without it;
   * `false` neither offers nor accepts it
   *
   * @default { maxUnackedBytes: 1048576 }
   */
  flowControl?: FlowControlInit | false

  /**
   * Queued bytes per peer and priority before `send` waits for room
   *
   * @default 1048576
   */
  maxQueueBytes?: number

  /**
   * Queued messages per peer and priority before `send` waits for room
   *
   * @default 10000
   */
  maxQueueLength?: number

  /**
   * Callers waiting for room per peer and priority before `send` rejects
   * with `QueueFullError`
   *
   * @default 10000
   */
  maxWaiting?: number

  /**
   * Peers with a channel (queues and a stream) at once; an idle channel is
   * closed to make room, else `send` rejects with `TooManyPeersError`
   *
   * @default 1024
   */
  maxPeers?: number

  /**
   * How long a request waits for its answer, ms (unless its `signal` says
   * otherwise)
   *
   * @default `@x/health`'s getTimeout(peer) when present, else 10000
   */
  requestTimeout?: number

  /**
   * The least a request waits when its timeout is `@x/health`'s
   * `getTimeout(peer)`, ms: that is a ping's timeout, and a request also
   * waits in the queues, for its batch and for the remote handler (not
   * applied to an explicit `requestTimeout`)
   *
   * @default 2000
   */
  minRequestTimeout?: number

  /**
   * How long opening a stream may take, ms
   *
   * @default 10000
   */
  openTimeout?: number

  /**
   * Inbound streams per connection
   *
   * @default 4
   */
  maxInboundStreams?: number

  /**
   * Outbound streams per connection (one is used at a time; a dying one may
   * overlap its successor)
   *
   * @default 4
   */
  maxOutboundStreams?: number

  /**
   * Inbound streams over all peers at once; more are reset with
   * `TooManyInboundStreamsError` and counted (`inboundStreamsRefused`)
   *
   * @default 128
   */
  maxInboundSessions?: number

  /**
   * Bytes of answers waiting to be written, over all inbound streams (a
   * remote that does not read its answers makes them wait); past it the
   * inbound stream holding the most is reset with `PendingAnswersLimitError`
   * and counted (`pendingAnswerResets`)
   *
   * @default 16777216
   */
  maxPendingAnswerBytes?: number

  /**
   * How long a handler may take to answer a request, ms; then the request
   * is answered with a `HANDLER_ERROR` and the handler's `signal` aborts
   *
   * @default 30000
   */
  handlerTimeout?: number

  /**
   * How long a write may wait for the stream's 'drain' (the remote reads
   * nothing, so the muxer's window stays shut), ms; then the stream is
   * reset (`WriteTimeoutError`, counted in `protocol_errors_total`) and
   * opened again: messages not yet written go out on the new stream,
   * requests in flight reject with `ResponseLostError` (its `cause` is the
   * `WriteTimeoutError`). On `/x/batch/1.0.0` nothing else bounds that
   * wait (on `/x/batch/1.1.0` `flowControl.ackTimeout` does too). An
   * inbound stream whose opener reads none of its answers is reset the
   * same way.
   *
   * @default 30000
   */
  writeTimeout?: number

  /**
   * Message handlers of one inbound stream whose promise has not settled;
   * at this many the stream is paused (not read, so the muxer's window and
   * then the sender push back) until one settles. Bounds the memory async
   * handlers hold (each keeps its payload).
   *
   * @default 256
   */
  maxRunningHandlers?: number

  /**
   * Back-off between reopens of a peer's stream after it failed to open or
   * died young (before valid input and within 10 s): a random wait between
   * half and all of min(maxDelay, initialDelay * 2^(failures - 1)), ms
   *
   * @default { initialDelay: 100, maxDelay: 10000 }
   */
  reopenBackoff?: { initialDelay?: number, maxDelay?: number }

  /**
   * Prefix of the metric names
   *
   * @default 'x_batching_'
   */
  metricsPrefix?: string

  /**
   * The protocol id (tests, or two independent instances on one node)
   *
   * @default '/x/batch/1.0.0'
   */
  protocol?: string
}

export interface MessageBatchingComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  events?: TypedEventTarget<Libp2pEvents>
  metrics?: Metrics
}

export interface HandlerContext {
  peer: PeerId
  priority: Priority
  name: string
  /**
   * Aborted when the answer is no longer wanted: `handlerTimeout` passed or
   * the stream closed (requests only; a message's handler gets none)
   */
  signal?: AbortSignal
}

/** Returns the answer to a request (ignored for messages) */
export type BatchingHandler = (data: Uint8Array, context: HandlerContext) => void | Uint8Array | Promise<void | Uint8Array>

export interface SendOptions extends AbortOptions {
  /** @default 'normal' */
  priority?: Priority
}

export interface RequestOptions extends SendOptions {}

/** A peer id, or a multiaddr ending in `/p2p/<peer id>` */
export type BatchingTarget = PeerId | Multiaddr

export interface BatchingMetrics {
  messagesSent: number
  messagesReceived: number
  requestsSent: number
  requestsAnswered: number
  /** Answered with an error, no handler, or lost with their stream */
  requestsFailed: number
  requestsTimedOut: number
  /** Written, then their stream closed before the answer */
  requestsLost: number
  requestsReceived: number
  /** Answers to requests no longer waited for */
  lateResponses: number
  batchesSent: number
  batchesReceived: number
  compressedBatches: number
  /** Messages and requests written per second, last 10 s */
  messagesPerSecond: number
  batchesPerSecond: number
  /** Messages and requests per batch sent */
  meanBatchSize: number
  /** Bytes of records sent, before compression */
  bytesBeforeCompression: number
  /** Bytes of frames sent, after compression */
  bytesAfterCompression: number
  bytesReceived: number
  queueLength: { high: number, normal: number, low: number }
  flushes: Record<FlushCause, number>
  /** Streams reset for bad input, by error name */
  protocolErrors: Record<string, number>
  handlerErrors: number
  streamsOpened: number
  streamOpenFailures: number
  peers: number
  inboundStreams: number
  /** Inbound streams reset because `maxInboundSessions` were open */
  inboundStreamsRefused: number
  /** Inbound streams reset because answers waiting passed `maxPendingAnswerBytes` */
  pendingAnswerResets: number
  /** Requests answered with an error because their handler passed `handlerTimeout` */
  handlerTimeouts: number
  /** Bytes of answers waiting to be written, over all inbound streams */
  pendingAnswerBytes: number
}

export interface MessageBatching {
  /** Registers the handler of messages and requests under `name` (1..128 bytes of UTF-8) */
  handle(name: string, handler: BatchingHandler): void
  unhandle(name: string): void
  /** Resolves once the batch carrying the message is written to the stream */
  send(peer: BatchingTarget, name: string, data: Uint8Array, options?: SendOptions): Promise<void>
  /** The remote handler's answer */
  request(peer: BatchingTarget, name: string, data: Uint8Array, options?: RequestOptions): Promise<Uint8Array>
  getMetrics(): BatchingMetrics
}

export function messageBatching (init: MessageBatchingInit = {}): (components: MessageBatchingComponents) => MessageBatching {
  return (components) => new MessageBatchingService(components, init)
}
