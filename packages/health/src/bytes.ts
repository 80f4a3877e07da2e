/**
 * Bytes in and out of one connection, for rates over 10 s, 1 min and
 * 5 min and the peak second: ten one-second buckets and thirty ten-second
 * buckets per direction (about 500 bytes a connection).
 */
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

const FINE = 10
const COARSE = 30
const COARSE_SECONDS = 10

/** Buckets of `width` seconds in a ring, each stamped with its start */
class Ring {
  readonly in: Float64Array
  readonly out: Float64Array
  readonly stamps: Float64Array
  readonly width: number

  constructor (size: number, width: number) {
    this.in = new Float64Array(size)
    this.out = new Float64Array(size)
    this.stamps = new Float64Array(size).fill(-1)
    this.width = width
  }

  slot (second: number): number {
    const bucket = Math.floor(second / this.width)
    const slot = bucket % this.stamps.length

    if (this.stamps[slot] !== bucket) {
      this.stamps[slot] = bucket
      this.in[slot] = 0
      this.out[slot] = 0
    }

    return slot
  }

  /** Bytes in the buckets that started within the last `seconds` */
  sum (buckets: Float64Array, second: number, seconds: number): number {
    const current = Math.floor(second / this.width)
    const span = Math.ceil(seconds / this.width)
    let total = 0

    for (let i = 0; i < this.stamps.length; i++) {
      if (this.stamps[i] >= 0 && current - this.stamps[i] < span) {
        total += buckets[i]
      }
    }

    return total
  }
}

export class ByteCounter {
  totalIn = 0
  totalOut = 0
  peak = 0
  private readonly fine = new Ring(FINE, 1)
  private readonly coarse = new Ring(COARSE, COARSE_SECONDS)

  add (direction: 'in' | 'out', bytes: number, now: number): void {
    const second = Math.floor(now / 1000)
    const fine = this.fine.slot(second)
    const coarse = this.coarse.slot(second)

    if (direction === 'in') {
      this.totalIn += bytes
      this.fine.in[fine] += bytes
      this.coarse.in[coarse] += bytes
    } else {
      this.totalOut += bytes
      this.fine.out[fine] += bytes
      this.coarse.out[coarse] += bytes
    }

    this.peak = Math.max(this.peak, this.fine.in[fine] + this.fine.out[fine])
  }

  rates (now: number): ByteRates {
    const second = Math.floor(now / 1000)

    return {
      in10s: this.fine.sum(this.fine.in, second, 10) / 10,
      out10s: this.fine.sum(this.fine.out, second, 10) / 10,
      in1m: this.coarse.sum(this.coarse.in, second, 60) / 60,
      out1m: this.coarse.sum(this.coarse.out, second, 60) / 60,
      in5m: this.coarse.sum(this.coarse.in, second, 300) / 300,
      out5m: this.coarse.sum(this.coarse.out, second, 300) / 300,
      peak: this.peak
    }
  }
}
