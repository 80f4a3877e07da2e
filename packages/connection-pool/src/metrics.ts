/**
 * The pool's own counters and bounded timing windows, and their
 * registration with libp2p's `metrics` component when one is configured.
 * This file is the one place that names the pool's metrics.
 */
import { STREAM_RATE_WINDOW, STREAM_TIMING_SAMPLES } from './constants.ts'
import type { PoolMetrics } from './index.ts'
import type { Metrics } from '@libp2p/interface'

/**
 * Metric names after the prefix (`x_connection_pool_` unless `metricsPrefix`
 * says otherwise). Counters end in `_total`, and only counters do.
 */
export const METRIC_NAMES = {
  /** gauge: managed peers */
  peers: 'peers',
  /** gauge: open connections to managed peers */
  connections: 'connections',
  /** gauge: estimated bytes of the pool's bookkeeping */
  bookkeepingBytes: 'bookkeeping_bytes',
  /** counter group: dials by outcome */
  dials: 'dials_total',
  /** counter group: streams by outcome */
  streams: 'streams_total',
  /** counter: borrowed peers released to make room at maxPeers */
  evictions: 'evictions_total',
  /** counter: connection:health events dropped as invalid */
  invalidHealthEvents: 'invalid_health_events_total',
  /** gauge group: time to open a stream, average and p95 */
  streamOpenSeconds: 'stream_open_seconds'
} as const

/** Rough bytes one sample slot, one rate bucket and the recorder itself hold */
const RECORDER_BYTES = 512 + STREAM_TIMING_SAMPLES * 8 + 16 * 16

export class PoolMetricsRecorder {
  public dialAttempts = 0
  public dialSuccesses = 0
  public dialFailures = 0
  public dialRetries = 0
  public dialRefusals = 0
  public limitedDials = 0
  public evictions = 0
  public invalidHealthEvents = 0
  public streamsOpened = 0
  public streamFailures = 0
  public failovers = 0

  private readonly prefix: string
  private readonly timings = new Float64Array(STREAM_TIMING_SAMPLES)
  private timingCount = 0
  private timingNext = 0

  /** One bucket a second over the rate window */
  private readonly rateBuckets = new Uint32Array(Math.ceil(STREAM_RATE_WINDOW / 1000))
  private readonly rateSeconds = new Float64Array(Math.ceil(STREAM_RATE_WINDOW / 1000))

  constructor (prefix: string) {
    this.prefix = prefix
  }

  recordStreamOpened (ms: number, now: number): void {
    this.streamsOpened++
    this.timings[this.timingNext] = ms
    this.timingNext = (this.timingNext + 1) % this.timings.length
    this.timingCount = Math.min(this.timingCount + 1, this.timings.length)

    const second = Math.floor(now / 1000)
    const slot = second % this.rateBuckets.length

    if (this.rateSeconds[slot] !== second) {
      this.rateSeconds[slot] = second
      this.rateBuckets[slot] = 0
    }

    this.rateBuckets[slot]++
  }

  /** Streams opened per second over the last rate window */
  streamsPerSecond (now: number): number {
    const second = Math.floor(now / 1000)
    let total = 0

    for (let i = 0; i < this.rateBuckets.length; i++) {
      if (second - this.rateSeconds[i] < this.rateBuckets.length) {
        total += this.rateBuckets[i]
      }
    }

    return total / this.rateBuckets.length
  }

  streamOpenTime (): { average: number, p95: number, samples: number } {
    if (this.timingCount === 0) {
      return { average: 0, p95: 0, samples: 0 }
    }

    const samples = Array.from(this.timings.subarray(0, this.timingCount)).sort((a, b) => a - b)
    const average = samples.reduce((sum, ms) => sum + ms, 0) / samples.length
    const p95 = samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.95) - 1)]

    return { average, p95, samples: samples.length }
  }

  get bytes (): number {
    return RECORDER_BYTES
  }

  /** Registers calculated metrics that read this recorder and the pool */
  register (metrics: Metrics | undefined, snapshot: () => PoolMetrics): void {
    if (metrics == null) {
      return
    }

    const name = (key: keyof typeof METRIC_NAMES): string => `${this.prefix}${METRIC_NAMES[key]}`

    metrics.registerMetric(name('peers'), {
      help: 'Peers managed by the connection pool',
      calculate: () => snapshot().peers
    })
    metrics.registerMetric(name('connections'), {
      help: 'Open connections to pooled peers',
      calculate: () => snapshot().connections
    })
    metrics.registerMetric(name('bookkeepingBytes'), {
      help: 'Estimated bytes held by the pool\'s own bookkeeping',
      calculate: () => snapshot().bookkeepingBytes
    })
    metrics.registerCounterGroup(name('dials'), {
      help: 'Dial attempts made by the pool, by outcome',
      calculate: () => ({
        attempts: this.dialAttempts,
        successes: this.dialSuccesses,
        failures: this.dialFailures,
        retries: this.dialRetries,
        refusals: this.dialRefusals,
        limited: this.limitedDials
      })
    })
    metrics.registerCounterGroup(name('streams'), {
      help: 'Streams opened through the pool, by outcome',
      calculate: () => ({
        opened: this.streamsOpened,
        failed: this.streamFailures,
        failovers: this.failovers
      })
    })
    metrics.registerCounter(name('evictions'), {
      help: 'Borrowed peers released to make room at maxPeers',
      calculate: () => this.evictions
    })
    metrics.registerCounter(name('invalidHealthEvents'), {
      help: 'connection:health events dropped because a figure was missing, NaN, infinite or negative',
      calculate: () => this.invalidHealthEvents
    })
    metrics.registerMetricGroup(name('streamOpenSeconds'), {
      help: 'Time to open a stream through the pool over the last samples',
      calculate: () => {
        const { average, p95 } = this.streamOpenTime()
        return { average: average / 1000, p95: p95 / 1000 }
      }
    })
  }
}
