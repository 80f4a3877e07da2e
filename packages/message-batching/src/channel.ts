/**
 * One remote peer's outgoing side: its queues, its one stream (opened on
 * first use, opened again when it dies), the names and request ids of that
 * stream, and the responses that come back on it. Items not yet written
 * when a stream dies stay queued and go out on the next stream; requests
 * written to it and unanswered are rejected (`ResponseLostError`).
 */
import { TimeoutError } from '@libp2p/interface'
import { Backoff } from './backoff.ts'
import { FLAG_ACK, FLAG_COMPRESSED, FrameDecoder, KIND_MESSAGE, KIND_NAME, KIND_REQUEST, KIND_RESPONSE, STATUS_HANDLER_ERROR, STATUS_NO_HANDLER, STATUS_OK, decodeAck, decodeRecords, ownPayload } from './codec.ts'
import { inflateRaw } from './compression.ts'
import { STABLE_STREAM_AFTER } from './constants.ts'
import { AckTimeoutError, NoHandlerError, ProtocolViolationError, RemoteHandlerError, ResponseLostError, TooManyNamesError, WriteTimeoutError } from './errors.ts'
import { FlowWindow } from './flow.ts'
import { PriorityQueues } from './queue.ts'
import { FrameWriter } from './writer.ts'
import type { WireRecord } from './codec.ts'
import type { BatchingMetricsRecorder } from './metrics.ts'
import type { BatchingSettings } from './options.ts'
import type { QueueItem } from './queue.ts'
import type { WrittenFrame } from './writer.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

export interface OutgoingItem extends QueueItem {
  kind: typeof KIND_MESSAGE | typeof KIND_REQUEST
  name: string
  payload: Uint8Array
  /** Settles `send()` (messages) once written */
  written?(): void
  /** Settles the caller with an error (either kind) */
  fail(err: Error): void
  /** Settles `request()` with the answer */
  answered?(data: Uint8Array): void
  /** The request id once written */
  id?: number
  /** The stream generation it was written on */
  generation?: number
  settled?: boolean
}

export interface ChannelDeps {
  settings: BatchingSettings
  metrics: BatchingMetricsRecorder
  log: Logger
  open(peer: PeerId, signal: AbortSignal): Promise<Stream>
  /** The channel has nothing queued, nothing in flight and no stream */
  idle(channel: PeerChannel): void
  shutdown: AbortSignal
  /** Milliseconds, for round-trip samples (tests inject one) */
  now?(): number
  /** 0..1, for the back-off's jitter (tests inject one) */
  random?(): number
}

export class PeerChannel {
  readonly peer: PeerId
  readonly queues: PriorityQueues<OutgoingItem>
  private readonly writer: FrameWriter<OutgoingItem>
  private readonly deps: ChannelDeps
  private stream?: Stream
  /** The window of the current stream when it is flow-controlled (PROTOCOL.md, Flow control) */
  private flow?: FlowWindow
  /** Runs while the flow window has bytes unacknowledged; restarted by every ACK */
  private ackTimer?: ReturnType<typeof setTimeout>
  private opening = false
  private generation = 0
  private names = new Map<string, number>()
  private readonly inflight = new Map<number, OutgoingItem>()
  private nextId = 0
  /** Requests queued or in flight */
  outstandingRequests = 0
  /**
   * Ids of requests written to the current stream that the caller gave up
   * on (timeout, abort) and the remote has not answered: they still count
   * against the remote's maxInflightRequests (at most that many)
   */
  private readonly abandoned = new Set<number>()
  private readonly backoff: Backoff
  /** Set while waiting to reopen after a failure */
  private retryTimer?: ReturnType<typeof setTimeout>
  /** When the current stream was attached, and whether it gave valid input since */
  private attachedAt = 0
  private proven = false

  constructor (peer: PeerId, deps: ChannelDeps) {
    this.peer = peer
    this.deps = deps
    const { settings } = deps
    this.backoff = new Backoff(settings.reopenBackoff, deps.random)
    this.queues = new PriorityQueues({ maxLength: settings.maxQueueLength, maxBytes: settings.maxQueueBytes, maxWaiting: settings.maxWaiting })
    this.writer = new FrameWriter(this.queues, settings, {
      stream: () => this.stream,
      needStream: () => { this.open() },
      encode: (items) => this.encode(items),
      written: (items, frame) => { this.written(items, frame) },
      failed: (err) => { this.streamDied(this.stream, err) },
      windowOpen: (highOnly) => this.flow?.open(highOnly) ?? true,
      sent: (bytes, high, highOnly) => {
        this.flow?.sent(bytes, highOnly)

        if (high) {
          this.flow?.highSent()
        }

        this.armAckTimer()
      },
      stalled: () => { this.writeTimedOut() }
    })
  }

  /** Queues an item; throws `QueueFullError` when too many callers wait already */
  enqueue (item: OutgoingItem): void {
    this.queues.push(item)
    this.writer.queued(item.priority)
  }

  /** The caller gave up on the item (abort or timeout) */
  cancel (item: OutgoingItem): void {
    this.queues.cancel(item)

    if (item.id != null && this.inflight.get(item.id) === item) {
      this.inflight.delete(item.id)
      this.abandoned.add(item.id)
    }

    this.settle(item)
  }

  get busy (): boolean {
    return this.queues.length > 0 || this.inflight.size > 0 || this.stream != null || this.opening || this.retryTimer != null
  }

  /** Requests given up on and not answered on the current stream */
  get abandonedRequests (): number {
    return this.abandoned.size
  }

  /** Rejects everything queued and in flight, closes the stream */
  close (err: Error): void {
    this.writer.close()
    this.clearAckTimer()
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined

    for (const item of this.queues.clear()) {
      this.fail(item, err)
    }

    this.failInflight(err)
    const stream = this.stream
    this.stream = undefined

    if (stream != null) {
      stream.close({ signal: AbortSignal.timeout(1000) }).catch(closeErr => { stream.abort(closeErr) })
    }
  }

  private open (): void {
    if (this.opening || this.stream != null || this.retryTimer != null || this.deps.shutdown.aborted) {
      return
    }

    this.opening = true
    const signal = AbortSignal.any([this.deps.shutdown, AbortSignal.timeout(this.deps.settings.openTimeout)])

    this.deps.open(this.peer, signal).then(stream => {
      this.opening = false

      if (this.deps.shutdown.aborted) {
        stream.abort(new Error('the batching service stopped'))
        return
      }

      this.deps.metrics.streamsOpened++
      this.attach(stream)
    }, (err: Error) => {
      this.opening = false
      this.deps.metrics.streamOpenFailures++
      this.deps.log('opening a stream to %p failed - %e', this.peer, err)

      // nothing queued could be written: the callers learn it now
      for (const item of this.queues.clear()) {
        this.fail(item, err)
      }

      this.retryLater()
    })
  }

  /** The next open waits for the back-off; an idle channel lingers until then, keeping its count of failures */
  private retryLater (): void {
    const delay = this.backoff.fail()
    this.deps.log('reopening the stream to %p in %d ms (failure %d in a row)', this.peer, delay, this.backoff.failures)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined

      if (this.queues.length > 0) {
        this.open()
      } else {
        this.maybeIdle()
      }
    }, delay)
  }

  private attach (stream: Stream): void {
    this.stream = stream
    this.generation++
    this.names = new Map()
    this.nextId = 0
    this.abandoned.clear()
    this.attachedAt = Date.now()
    this.proven = false
    const { flowControl, limits } = this.deps.settings
    const flow = flowControl != null && stream.protocol === flowControl.protocol
      ? new FlowWindow(flowControl.maxUnackedBytes, this.deps.now ?? (() => performance.now()))
      : undefined
    this.flow = flow
    const decoder = new FrameDecoder(limits.maxFrameBytes, flow == null ? FLAG_COMPRESSED : FLAG_COMPRESSED | FLAG_ACK)

    stream.addEventListener('message', (evt) => {
      if (this.stream !== stream) {
        return
      }

      try {
        this.deps.metrics.bytesReceived += evt.data.byteLength
        const frames = decoder.push(evt.data)

        for (const frame of frames) {
          if (frame.flags === FLAG_ACK) {
            flow?.acked(decodeAck(frame.body))
            this.clearAckTimer()
            this.armAckTimer()
            this.writer.windowOpened()
            continue
          }

          const body = (frame.flags & 1) === 1 ? inflateRaw(frame.body, this.deps.settings.limits.maxFrameBytes) : frame.body
          this.deps.metrics.batchesReceived++

          for (const record of decodeRecords(body, this.deps.settings.limits)) {
            this.response(record)
          }
        }

        // valid input: the remote handles this stream, a later death is not a failure to back off from
        if (frames.length > 0) {
          this.proven = true
        }
      } catch (err: any) {
        this.deps.metrics.protocolError(err.name)
        this.deps.log('bad input from %p on the outbound stream - %e', this.peer, err)
        stream.abort(err)
      }
    })

    stream.addEventListener('close', (evt) => {
      this.streamDied(stream, evt.error ?? new ResponseLostError('the stream closed before the answer came'))
    })

    this.writer.reset()
  }

  private response (record: WireRecord): void {
    if (record.kind !== KIND_RESPONSE) {
      throw new ProtocolViolationError(`the acceptor may only write RESPONSE records, got kind ${record.kind}`)
    }

    const item = this.inflight.get(record.id ?? -1)

    if (item == null) {
      this.abandoned.delete(record.id ?? -1)
      this.deps.metrics.lateResponses++
      return
    }

    this.inflight.delete(record.id ?? -1)

    if (record.n === STATUS_OK) {
      this.deps.metrics.requestsAnswered++
      this.settle(item)
      item.answered?.(ownPayload(record.payload))
    } else if (record.n === STATUS_NO_HANDLER) {
      this.fail(item, new NoHandlerError(`${this.peer} has no handler for "${item.name}"`))
    } else if (record.n === STATUS_HANDLER_ERROR) {
      this.fail(item, new RemoteHandlerError(new TextDecoder().decode(record.payload.subarray(0, 1024))))
    } else {
      throw new ProtocolViolationError(`unknown response status ${record.n}`)
    }
  }

  private streamDied (stream: Stream | undefined, err: Error): void {
    if (stream == null || this.stream !== stream) {
      return
    }

    this.stream = undefined
    this.flow = undefined
    this.clearAckTimer()
    this.deps.log('stream to %p closed - %s', this.peer, err.message)

    if (stream.status === 'open') {
      stream.abort(err)
    }

    this.failInflight(new ResponseLostError(`the stream closed before the answer came: ${err.message}`, { cause: err }))
    this.abandoned.clear()

    // a stream that died young without a valid frame from the remote: the next one waits for the back-off
    if (!this.proven && Date.now() - this.attachedAt < STABLE_STREAM_AFTER) {
      this.retryLater()
    } else {
      this.backoff.succeed()
    }

    // unwritten items are still queued: the writer opens the next stream for them (after the back-off)
    this.writer.reset()
    this.maybeIdle()
  }

  /** The stream pushed back for writeTimeout: the remote reads nothing, so this stream is reset and another opened */
  private writeTimedOut (): void {
    const stream = this.stream

    if (stream == null) {
      return
    }

    const err = new WriteTimeoutError(`no 'drain' for ${this.deps.settings.writeTimeout} ms: the remote reads nothing`)
    this.deps.metrics.protocolError(err.name)
    this.deps.log('writes to %p wait for drain, resetting the stream - %e', this.peer, err)
    this.streamDied(stream, err)
  }

  /** While bytes wait for an ACK: a remote that reads but never acknowledges gets its stream reset after ackTimeout */
  private armAckTimer (): void {
    const flow = this.flow
    const stream = this.stream

    if (this.ackTimer != null || flow == null || stream == null || flow.unacked === 0 || this.deps.settings.flowControl == null) {
      return
    }

    const { ackTimeout } = this.deps.settings.flowControl
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined

      if (this.stream !== stream || flow.unacked === 0) {
        return
      }

      const err = new AckTimeoutError(`${flow.unacked} bytes unacknowledged for ${ackTimeout} ms`)
      this.deps.metrics.protocolError(err.name)
      this.deps.log('no ACK from %p, resetting the stream - %e', this.peer, err)
      this.streamDied(stream, err)
    }, ackTimeout)
  }

  private clearAckTimer (): void {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
  }

  private failInflight (err: Error): void {
    const lost = [...this.inflight.values()]
    this.inflight.clear()

    for (const item of lost) {
      this.deps.metrics.requestsLost++
      this.fail(item, err)
    }
  }

  private maybeIdle (): void {
    if (!this.busy) {
      this.deps.idle(this)
    }
  }

  private encode (items: OutgoingItem[]): { records: WireRecord[], items: OutgoingItem[] } {
    const records: WireRecord[] = []
    const written: OutgoingItem[] = []
    const { limits } = this.deps.settings

    for (const item of items) {
      let n = this.names.get(item.name)

      if (n == null) {
        if (this.names.size >= limits.maxNames) {
          this.fail(item, new TooManyNamesError(`more than ${limits.maxNames} names on one stream`))
          continue
        }

        n = this.names.size
        this.names.set(item.name, n)
        records.push({ kind: KIND_NAME, n, priority: 0, payload: new TextEncoder().encode(item.name) })
      }

      if (item.kind === KIND_REQUEST) {
        // ids wrap at 2^32; one still in flight on this stream is skipped (PROTOCOL.md, Requests)
        while (this.inflight.has(this.nextId) || this.abandoned.has(this.nextId)) {
          this.nextId = (this.nextId + 1) % 2 ** 32
        }
        item.id = this.nextId
        this.nextId = (this.nextId + 1) % 2 ** 32
        records.push({ kind: KIND_REQUEST, n, priority: item.priority, id: item.id, payload: item.payload })
      } else {
        records.push({ kind: KIND_MESSAGE, n, priority: item.priority, payload: item.payload })
      }

      written.push(item)
    }

    return { records, items: written }
  }

  private written (items: OutgoingItem[], frame: WrittenFrame): void {
    let messages = 0
    let requests = 0

    for (const item of items) {
      if (item.kind === KIND_REQUEST) {
        requests++
        item.generation = this.generation
        this.inflight.set(item.id ?? 0, item)
      } else {
        messages++
        this.settle(item)
        item.written?.()
      }
    }

    this.deps.metrics.frameWritten(frame, messages, requests, Date.now())
  }

  private settle (item: OutgoingItem): void {
    if (item.settled === true) {
      return
    }

    item.settled = true

    if (item.kind === KIND_REQUEST) {
      this.outstandingRequests--
    }
  }

  private fail (item: OutgoingItem, err: Error): void {
    if (item.settled === true) {
      return
    }

    this.settle(item)

    if (item.kind === KIND_REQUEST && !(err instanceof TimeoutError)) {
      this.deps.metrics.requestsFailed++
    }

    item.fail(err)
  }
}
