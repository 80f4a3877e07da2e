/**
 * Bytes per second over the last second and the last minute, from 61
 * one-second slots (the current one and the 60 before it): constant memory
 * (one `Float64Array`) per counted thing.
 */
import { RATE_SLOTS } from './constants.ts'

const SLOTS = RATE_SLOTS + 1

export interface WindowRates {
  /** Bytes/s over the last complete second */
  rate1s: number
  /** Bytes/s over the last 60 complete seconds */
  rate1m: number
  /** Bytes since counting started */
  total: number
}

export class RateWindow {
  private readonly slots = new Float64Array(SLOTS)
  private second = -1
  total = 0
  /** When bytes were last added, ms */
  lastActive = 0

  add (bytes: number, now: number): void {
    this.advance(now)
    this.slots[this.second % SLOTS] += bytes
    this.total += bytes
    this.lastActive = now
  }

  rates (now: number): WindowRates {
    this.advance(now)
    let minute = 0

    for (let i = 1; i <= RATE_SLOTS; i++) {
      minute += this.slots[(this.second - i + SLOTS) % SLOTS]
    }

    return {
      rate1s: this.slots[(this.second - 1 + SLOTS) % SLOTS],
      rate1m: minute / RATE_SLOTS,
      total: this.total
    }
  }

  private advance (now: number): void {
    const second = Math.floor(now / 1000)

    if (this.second < 0) {
      this.second = second
      return
    }

    if (second <= this.second) {
      return
    }

    const steps = Math.min(second - this.second, SLOTS)

    for (let i = 1; i <= steps; i++) {
      this.slots[(this.second + i) % SLOTS] = 0
    }

    this.second = second
  }
}

/** Rates of both directions */
export class DirectionWindows {
  readonly in = new RateWindow()
  readonly out = new RateWindow()

  rates (now: number): { in: WindowRates, out: WindowRates } {
    return { in: this.in.rates(now), out: this.out.rates(now) }
  }

  get lastActive (): number {
    return Math.max(this.in.lastActive, this.out.lastActive)
  }
}
