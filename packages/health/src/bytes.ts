/**
 * Bytes in and out of one connection in per-second buckets over five
 * minutes, giving rates over 10 s, 1 min and 5 min, and the peak second.
 */
import { BYTE_BUCKETS } from './constants.ts'

export interface ByteRates {
  /** Bytes per second over the window */
  in10s: number
  out10s: number
  in1m: number
  out1m: number
  in5m: number
  out5m: number
  /** Highest one-second total (in + out) seen */
  peak: number
}

export class ByteCounter {
  totalIn = 0
  totalOut = 0
  peak = 0
  private readonly inBuckets = new Float64Array(BYTE_BUCKETS)
  private readonly outBuckets = new Float64Array(BYTE_BUCKETS)
  private readonly seconds = new Float64Array(BYTE_BUCKETS).fill(-1)

  private slot (now: number): number {
    const second = Math.floor(now / 1000)
    const slot = second % BYTE_BUCKETS

    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second
      this.inBuckets[slot] = 0
      this.outBuckets[slot] = 0
    }

    return slot
  }

  add (direction: 'in' | 'out', bytes: number, now: number): void {
    const slot = this.slot(now)

    if (direction === 'in') {
      this.totalIn += bytes
      this.inBuckets[slot] += bytes
    } else {
      this.totalOut += bytes
      this.outBuckets[slot] += bytes
    }

    this.peak = Math.max(this.peak, this.inBuckets[slot] + this.outBuckets[slot])
  }

  private rate (buckets: Float64Array, now: number, seconds: number): number {
    const current = Math.floor(now / 1000)
    let total = 0

    for (let i = 0; i < BYTE_BUCKETS; i++) {
      if (current - this.seconds[i] < seconds && this.seconds[i] >= 0) {
        total += buckets[i]
      }
    }

    return total / seconds
  }

  rates (now: number): ByteRates {
    return {
      in10s: this.rate(this.inBuckets, now, 10),
      out10s: this.rate(this.outBuckets, now, 10),
      in1m: this.rate(this.inBuckets, now, 60),
      out1m: this.rate(this.outBuckets, now, 60),
      in5m: this.rate(this.inBuckets, now, 300),
      out5m: this.rate(this.outBuckets, now, 300),
      peak: this.peak
    }
  }
}
