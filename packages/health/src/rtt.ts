/**
 * Round trip times of one connection: last, EWMA, minimum, percentiles over
 * a bounded window (`RTT_WINDOW`), and the smoothed RTT and variance
 * (RFC 6298) behind the adaptive timeout. The window and the figures live
 * in one `Float64Array` (RTT_WINDOW + 5 numbers).
 */
import { RTT_EWMA_ALPHA, RTT_WINDOW } from './constants.ts'
import type { RttSummary } from '@x/interface'

const LAST = RTT_WINDOW
const EWMA = LAST + 1
const MIN = EWMA + 1
const SRTT = MIN + 1
const RTTVAR = SRTT + 1
const SLOTS = RTTVAR + 1

export class RttTracker {
  private readonly data = new Float64Array(SLOTS)
  private count = 0
  private next = 0

  get last (): number {
    return this.data[LAST]
  }

  get ewma (): number {
    return this.data[EWMA]
  }

  get min (): number {
    return this.count === 0 ? Infinity : this.data[MIN]
  }

  /** Smoothed RTT (RFC 6298), undefined before the first sample */
  get srtt (): number | undefined {
    return this.count === 0 ? undefined : this.data[SRTT]
  }

  get rttvar (): number {
    return this.data[RTTVAR]
  }

  add (ms: number): void {
    const d = this.data

    if (this.count === 0) {
      d[EWMA] = ms
      d[MIN] = ms
      d[SRTT] = ms
      d[RTTVAR] = ms / 2
    } else {
      d[EWMA] += RTT_EWMA_ALPHA * (ms - d[EWMA])
      d[MIN] = Math.min(d[MIN], ms)
      d[RTTVAR] = 0.75 * d[RTTVAR] + 0.25 * Math.abs(d[SRTT] - ms)
      d[SRTT] = 0.875 * d[SRTT] + 0.125 * ms
    }

    d[LAST] = ms
    d[this.next] = ms
    this.next = (this.next + 1) % RTT_WINDOW
    this.count++
  }

  get samples (): number {
    return this.count
  }

  percentile (p: number): number {
    const n = Math.min(this.count, RTT_WINDOW)

    if (n === 0) {
      return 0
    }

    const sorted = this.data.slice(0, n).sort()
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]
  }

  /** Median of the last `n` samples: follows a lasting change within n/2 + 1 probes, ignores one spike */
  recentMedian (n = 3): number {
    const count = Math.min(this.count, n, RTT_WINDOW)

    if (count === 0) {
      return 0
    }

    if (count === 3) {
      // the scorer's case, without an array
      const a = this.data[(this.next - 1 + RTT_WINDOW) % RTT_WINDOW]
      const b = this.data[(this.next - 2 + RTT_WINDOW) % RTT_WINDOW]
      const c = this.data[(this.next - 3 + RTT_WINDOW) % RTT_WINDOW]
      return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c))
    }

    const recent: number[] = []

    for (let i = 1; i <= count; i++) {
      recent.push(this.data[(this.next - i + RTT_WINDOW) % RTT_WINDOW])
    }

    recent.sort((a, b) => a - b)
    return recent[Math.floor((recent.length - 1) / 2)]
  }

  /** SRTT + 4 x RTTVAR, bounded; `fallback` before the first sample */
  timeout (min: number, max: number, fallback: number): number {
    if (this.count === 0) {
      return fallback
    }

    return Math.round(Math.min(max, Math.max(min, this.data[SRTT] + 4 * this.data[RTTVAR])))
  }

  summary (): RttSummary | undefined {
    if (this.count === 0) {
      return undefined
    }

    return { last: this.last, ewma: this.ewma, min: this.min, p50: this.percentile(50), p95: this.percentile(95), samples: this.count }
  }
}
