/**
 * Round trip times of one connection: last, EWMA, minimum, percentiles over
 * a bounded window, and the smoothed RTT and variance (RFC 6298) behind the
 * adaptive timeout.
 */
import { RTT_EWMA_ALPHA, RTT_WINDOW } from './constants.ts'
import type { RttSummary } from '@x/interface'

export class RttTracker {
  private readonly window = new Float64Array(RTT_WINDOW)
  private count = 0
  private next = 0
  last = 0
  ewma = 0
  min = Infinity
  srtt?: number
  rttvar = 0

  add (ms: number): void {
    this.last = ms
    this.ewma = this.count === 0 ? ms : this.ewma + RTT_EWMA_ALPHA * (ms - this.ewma)
    this.min = Math.min(this.min, ms)
    this.window[this.next] = ms
    this.next = (this.next + 1) % RTT_WINDOW
    this.count++

    if (this.srtt == null) {
      this.srtt = ms
      this.rttvar = ms / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms)
      this.srtt = 0.875 * this.srtt + 0.125 * ms
    }
  }

  get samples (): number {
    return this.count
  }

  percentile (p: number): number {
    const n = Math.min(this.count, RTT_WINDOW)

    if (n === 0) {
      return 0
    }

    const sorted = Array.from(this.window.subarray(0, n)).sort((a, b) => a - b)
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]
  }

  /** Median of the last `n` samples: follows a lasting change within n/2 + 1 probes, ignores one spike */
  recentMedian (n = 3): number {
    const count = Math.min(this.count, n, RTT_WINDOW)
    const recent: number[] = []

    for (let i = 1; i <= count; i++) {
      recent.push(this.window[(this.next - i + RTT_WINDOW) % RTT_WINDOW])
    }

    recent.sort((a, b) => a - b)
    return recent[Math.floor((recent.length - 1) / 2)] ?? 0
  }

  /** SRTT + 4 x RTTVAR, bounded; `fallback` before the first sample */
  timeout (min: number, max: number, fallback: number): number {
    if (this.srtt == null) {
      return fallback
    }

    return Math.round(Math.min(max, Math.max(min, this.srtt + 4 * this.rttvar)))
  }

  summary (): RttSummary | undefined {
    if (this.count === 0) {
      return undefined
    }

    return { last: this.last, ewma: this.ewma, min: this.min, p50: this.percentile(50), p95: this.percentile(95), samples: this.count }
  }
}
