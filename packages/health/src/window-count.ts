/**
 * Events counted over a sliding window (the stability window of failed
 * streams) in `STABILITY_BUCKETS` buckets: memory is fixed however many
 * events there are, and the count is exact to one bucket's width.
 */
import { STABILITY_BUCKETS, STABILITY_WINDOW } from './constants.ts'

const WIDTH = STABILITY_WINDOW / STABILITY_BUCKETS
/** Slot of the newest bucket's number, after the buckets */
const NEWEST = STABILITY_BUCKETS

export class WindowCount {
  private readonly data = new Float64Array(STABILITY_BUCKETS + 1)

  constructor () {
    this.data[NEWEST] = -Infinity
  }

  add (now: number): void {
    this.data[this.advance(Math.floor(now / WIDTH))]++
  }

  /** Events in the last `STABILITY_WINDOW` ms (to one bucket) */
  count (now: number): number {
    this.advance(Math.floor(now / WIDTH))
    let total = 0

    for (let i = 0; i < STABILITY_BUCKETS; i++) {
      total += this.data[i]
    }

    return total
  }

  /** Zeroes the buckets passed over; returns the slot of `bucket` (a clock that went back keeps the newest) */
  private advance (bucket: number): number {
    const newest = this.data[NEWEST]

    if (bucket > newest) {
      for (let b = Math.max(newest + 1, bucket - STABILITY_BUCKETS + 1); b <= bucket; b++) {
        this.data[b % STABILITY_BUCKETS] = 0
      }

      this.data[NEWEST] = bucket
    }

    return this.data[NEWEST] % STABILITY_BUCKETS
  }
}
