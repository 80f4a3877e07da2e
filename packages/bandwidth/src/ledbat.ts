/**
 * A LEDBAT-style rate controller (after RFC 6817, rate-based): the queuing
 * delay a connection's background traffic adds is its RTT above the base
 * RTT; the rate moves towards keeping that delay at `targetDelay`.
 *
 * - base delay: the minimum of per-minute minimums over the last
 * `BASE_HISTORY` minutes (so a route change is forgotten in 10 minutes);
 * - current delay: the minimum of the last `CURRENT_FILTER` samples (one
 * late sample does not count as congestion);
 * - each sample: `off = (target - queuing) / target`; at or under the
 * target the rate grows by `gain x off` - `SLOW_START_GAIN` (+10 %) until
 * the queuing delay first reaches half the target, `CONGESTION_INCREASE_GAIN`
 * (+1 %) after - but only if the traffic used at least half of the rate
 * since the last sample (an idle class does not earn rate); over the
 * target it shrinks by `CONGESTION_DECREASE_GAIN x off`, halving at most
 * per sample.
 */
import { BASE_HISTORY, BASE_HISTORY_INTERVAL, CONGESTION_DECREASE_GAIN, CONGESTION_INCREASE_GAIN, CONGESTION_MAX_DECREASE, CURRENT_FILTER, SLOW_START_GAIN } from './constants.ts'

export interface LedbatInit {
  targetDelay: number
  minRate: number
  maxRate: number
  initialRate: number
}

export class Ledbat {
  rate: number
  samples = 0
  /** Until the queuing delay first reaches half the target */
  slowStart = true
  private readonly target: number
  private readonly minRate: number
  private readonly maxRate: number
  /** Per-minute minimums, the newest last (at most `BASE_HISTORY`) */
  private readonly base: number[] = []
  private baseMinute = -1
  private readonly current: number[] = []

  constructor (init: LedbatInit) {
    this.target = init.targetDelay
    this.minRate = init.minRate
    this.maxRate = init.maxRate
    this.rate = Math.min(init.maxRate, Math.max(init.minRate, init.initialRate))
  }

  get baseDelay (): number {
    return this.base.length === 0 ? Infinity : Math.min(...this.base)
  }

  get currentDelay (): number {
    return this.current.length === 0 ? Infinity : Math.min(...this.current)
  }

  /** RTT above the base, ms (0 before any sample) */
  get queuingDelay (): number {
    if (this.base.length === 0 || this.current.length === 0) {
      return 0
    }

    return Math.max(0, this.currentDelay - this.baseDelay)
  }

  /** A base RTT measured elsewhere (a health probe's minimum) */
  offerBase (rtt: number, now: number): void {
    if (!Number.isFinite(rtt) || rtt < 0) {
      return
    }

    const minute = Math.floor(now / BASE_HISTORY_INTERVAL)

    if (minute !== this.baseMinute) {
      this.baseMinute = minute
      this.base.push(rtt)

      if (this.base.length > BASE_HISTORY) {
        this.base.shift()
      }
    } else {
      this.base[this.base.length - 1] = Math.min(this.base[this.base.length - 1], rtt)
    }
  }

  /**
   * One RTT sample; `utilisation` is the share of the rate the traffic used
   * since the previous sample. Returns the new rate.
   */
  sample (rtt: number, now: number, utilisation: number): number {
    if (!Number.isFinite(rtt) || rtt < 0) {
      return this.rate
    }

    this.samples++
    this.offerBase(rtt, now)
    this.current.push(rtt)

    if (this.current.length > CURRENT_FILTER) {
      this.current.shift()
    }

    const off = (this.target - this.queuingDelay) / this.target

    if (off < 0.5) {
      this.slowStart = false
    }

    if (off >= 0) {
      if (utilisation >= 0.5) {
        this.rate *= 1 + (this.slowStart ? SLOW_START_GAIN : CONGESTION_INCREASE_GAIN) * off
      }
    } else {
      this.rate *= Math.max(1 - CONGESTION_MAX_DECREASE, 1 + CONGESTION_DECREASE_GAIN * off)
    }

    this.rate = Math.min(this.maxRate, Math.max(this.minRate, this.rate))
    return this.rate
  }
}
