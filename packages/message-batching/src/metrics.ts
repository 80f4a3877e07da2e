/**
 * The service's counters and rates, and their registration with libp2p's
 * `metrics` component (names in metric-names.ts). Rates are averaged over
 * the last RATE_WINDOW in one-second buckets: a fixed amount of memory.
 */
import { RATE_WINDOW } from './constants.ts'
import { metricName } from './metric-names.ts'
import { FLUSH_CAUSES } from './writer.ts'
import type { BatchingMetrics } from './index.ts'
import type { FlushCause, WrittenFrame } from './writer.ts'
import type { Metrics } from '@libp2p/interface'

const BUCKETS = Math.ceil(RATE_WINDOW / 1000)
/** Distinct protocol error names kept; more are counted under `other` */
const MAX_ERROR_NAMES = 32

class Rate {
  private readonly counts = new Float64Array(BUCKETS)
  private readonly seconds = new Float64Array(BUCKETS).fill(-1)

  add (now: number, n = 1): void {
    const second = Math.floor(now / 1000)
    const slot = second % BUCKETS

    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second
      this.counts[slot] = 0
    }

    this.counts[slot] += n
  }

  perSecond (now: number): number {
    const second = Math.floor(now / 1000)
    let total = 0

    for (let i = 0; i < BUCKETS; i++) {
      if (second - this.seconds[i] < BUCKETS && this.seconds[i] >= 0) {
        total += this.counts[i]
      }
    }

    return total / BUCKETS
  }
}

export interface MetricsSource {
  queueLengths(): { high: number, normal: number, low: number }
  peers(): number
  inboundStreams(): number
  pendingAnswerBytes(): number
}

export class BatchingMetricsRecorder {
  messagesSent = 0
  messagesReceived = 0
  requestsSent = 0
  requestsAnswered = 0
  requestsFailed = 0
  requestsTimedOut = 0
  requestsLost = 0
  requestsReceived = 0
  lateResponses = 0
  batchesSent = 0
  batchesReceived = 0
  compressedBatches = 0
  recordsInBatches = 0
  bytesUncompressed = 0
  bytesWire = 0
  bytesReceived = 0
  handlerErrors = 0
  streamsOpened = 0
  streamOpenFailures = 0
  inboundStreamsRefused = 0
  pendingAnswerResets = 0
  handlerTimeouts = 0
  readonly flushes: Record<FlushCause, number> = { idle: 0, drain: 0, size: 0, bytes: 0, priority: 0, timeout: 0 }
  readonly protocolErrors: Record<string, number> = {}

  private readonly messageRate = new Rate()
  private readonly batchRate = new Rate()

  frameWritten (frame: WrittenFrame, messages: number, requests: number, now: number): void {
    this.batchesSent++
    this.messagesSent += messages
    this.requestsSent += requests
    this.recordsInBatches += messages + requests
    this.bytesUncompressed += frame.bodyBytes
    this.bytesWire += frame.wireBytes
    this.flushes[frame.cause]++

    if (frame.compressed) {
      this.compressedBatches++
    }

    this.messageRate.add(now, messages + requests)
    this.batchRate.add(now)
  }

  protocolError (name: string): void {
    const key = name in this.protocolErrors || Object.keys(this.protocolErrors).length < MAX_ERROR_NAMES ? name : 'other'
    this.protocolErrors[key] = (this.protocolErrors[key] ?? 0) + 1
  }

  snapshot (source: MetricsSource, now: number): BatchingMetrics {
    return {
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      requestsSent: this.requestsSent,
      requestsAnswered: this.requestsAnswered,
      requestsFailed: this.requestsFailed,
      requestsTimedOut: this.requestsTimedOut,
      requestsLost: this.requestsLost,
      requestsReceived: this.requestsReceived,
      lateResponses: this.lateResponses,
      batchesSent: this.batchesSent,
      batchesReceived: this.batchesReceived,
      compressedBatches: this.compressedBatches,
      messagesPerSecond: this.messageRate.perSecond(now),
      batchesPerSecond: this.batchRate.perSecond(now),
      meanBatchSize: this.batchesSent === 0 ? 0 : this.recordsInBatches / this.batchesSent,
      bytesBeforeCompression: this.bytesUncompressed,
      bytesAfterCompression: this.bytesWire,
      bytesReceived: this.bytesReceived,
      queueLength: source.queueLengths(),
      flushes: { ...this.flushes },
      protocolErrors: { ...this.protocolErrors },
      handlerErrors: this.handlerErrors,
      streamsOpened: this.streamsOpened,
      streamOpenFailures: this.streamOpenFailures,
      peers: source.peers(),
      inboundStreams: source.inboundStreams(),
      inboundStreamsRefused: this.inboundStreamsRefused,
      pendingAnswerResets: this.pendingAnswerResets,
      handlerTimeouts: this.handlerTimeouts,
      pendingAnswerBytes: source.pendingAnswerBytes()
    }
  }
}

export function registerBatchingMetrics (metrics: Metrics, prefix: string, snapshot: () => BatchingMetrics): void {
  const counter = (key: Parameters<typeof metricName>[1], help: string, calculate: (m: BatchingMetrics) => Record<string, number>): void => {
    metrics.registerCounterGroup(metricName(prefix, key), { help, calculate: () => calculate(snapshot()) })
  }
  const gauge = (key: Parameters<typeof metricName>[1], help: string, calculate: (m: BatchingMetrics) => Record<string, number>): void => {
    metrics.registerMetricGroup(metricName(prefix, key), { help, calculate: () => calculate(snapshot()) })
  }

  counter('messages', 'Messages sent (written) and received', m => ({ sent: m.messagesSent, received: m.messagesReceived }))
  counter('requests', 'Requests by outcome', m => ({
    sent: m.requestsSent,
    answered: m.requestsAnswered,
    failed: m.requestsFailed,
    timed_out: m.requestsTimedOut,
    lost: m.requestsLost,
    received: m.requestsReceived,
    late_responses: m.lateResponses
  }))
  counter('batches', 'Frames sent, received, and sent compressed', m => ({ sent: m.batchesSent, received: m.batchesReceived, compressed: m.compressedBatches }))
  counter('bytes', 'Bytes of records before compression, and of frames on the stream', m => ({ sent_uncompressed: m.bytesBeforeCompression, sent_wire: m.bytesAfterCompression, received_wire: m.bytesReceived }))
  counter('flushes', 'Frames written, by what caused the flush', m => ({ ...m.flushes }))
  counter('protocolErrors', 'Streams reset for bad input, by error name', m => ({ ...m.protocolErrors }))
  counter('events', 'Handler errors and timeouts, streams opened, failed stream opens, inbound streams refused or reset over the node-wide limits', m => ({
    handler_errors: m.handlerErrors,
    handler_timeouts: m.handlerTimeouts,
    opened: m.streamsOpened,
    open_failures: m.streamOpenFailures,
    inbound_refused: m.inboundStreamsRefused,
    pending_answer_resets: m.pendingAnswerResets
  }))
  gauge('queueLength', 'Queued messages and requests over all peers, by priority', m => ({ ...m.queueLength }))
  gauge('status', 'Rates over the last 10 s, mean batch size, peers with a channel, inbound streams', m => ({
    messages_per_second: m.messagesPerSecond,
    batches_per_second: m.batchesPerSecond,
    mean_batch_size: m.meanBatchSize,
    peers: m.peers,
    inbound_streams: m.inboundStreams,
    pending_answer_bytes: m.pendingAnswerBytes
  }))
}

export { FLUSH_CAUSES }
