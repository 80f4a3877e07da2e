/**
 * Bytes in and out of one connection, for rates over 10 s, 1 min and
 * 5 min and the peak second: ten one-second buckets and thirty ten-second
 * buckets per direction, kept with the totals in one `Float64Array` of 85
 * numbers (one typed array rather than several: each carries its own
 * headers besides its data; the README has the measured figures).
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

// layout of `data`: two rings (in, then out) of each size, then scalars
const FINE_IN = 0
const FINE_OUT = FINE_IN + FINE
const COARSE_IN = FINE_OUT + FINE
const COARSE_OUT = COARSE_IN + COARSE
const TOTAL_IN = COARSE_OUT + COARSE
const TOTAL_OUT = TOTAL_IN + 1
const PEAK = TOTAL_OUT + 1
/** Newest one-second bucket (seconds since the epoch), -1 before any */
const FINE_AT = PEAK + 1
/** Newest ten-second bucket, -1 before any */
const COARSE_AT = FINE_AT + 1
const SLOTS = COARSE_AT + 1

export class ByteCounter {
  private readonly data = new Float64Array(SLOTS)

  constructor () {
    this.data[FINE_AT] = -1
    this.data[COARSE_AT] = -1
  }

  get totalIn (): number {
    return this.data[TOTAL_IN]
  }

  get totalOut (): number {
    return this.data[TOTAL_OUT]
  }

  get peak (): number {
    return this.data[PEAK]
  }

  /** Counts bytes read from the connection (a 'message' listener of its multiaddr connection) */
  handleEvent (evt: { data?: { byteLength: number } }): void {
    this.add('in', evt.data?.byteLength ?? 0, Date.now())
  }

  add (direction: 'in' | 'out', bytes: number, now: number): void {
    const second = Math.floor(now / 1000)
    const fine = this.advance(FINE_IN, FINE_OUT, FINE, FINE_AT, second)
    const coarse = this.advance(COARSE_IN, COARSE_OUT, COARSE, COARSE_AT, Math.floor(second / COARSE_SECONDS))
    const d = this.data

    if (direction === 'in') {
      d[TOTAL_IN] += bytes
      d[FINE_IN + fine] += bytes
      d[COARSE_IN + coarse] += bytes
    } else {
      d[TOTAL_OUT] += bytes
      d[FINE_OUT + fine] += bytes
      d[COARSE_OUT + coarse] += bytes
    }

    d[PEAK] = Math.max(d[PEAK], d[FINE_IN + fine] + d[FINE_OUT + fine])
  }

  rates (now: number): ByteRates {
    const second = Math.floor(now / 1000)
    const coarse = this.advance(COARSE_IN, COARSE_OUT, COARSE, COARSE_AT, Math.floor(second / COARSE_SECONDS))
    this.advance(FINE_IN, FINE_OUT, FINE, FINE_AT, second)

    return {
      in10s: this.sum(FINE_IN, FINE, 0, FINE) / 10,
      out10s: this.sum(FINE_OUT, FINE, 0, FINE) / 10,
      in1m: this.sum(COARSE_IN, COARSE, coarse, 6) / 60,
      out1m: this.sum(COARSE_OUT, COARSE, coarse, 6) / 60,
      in5m: this.sum(COARSE_IN, COARSE, coarse, COARSE) / 300,
      out5m: this.sum(COARSE_OUT, COARSE, coarse, COARSE) / 300,
      peak: this.data[PEAK]
    }
  }

  /**
   * Moves a pair of rings on to `bucket`, zeroing the buckets passed over;
   * returns the slot of `bucket` (a clock that went back keeps the newest)
   */
  private advance (inAt: number, outAt: number, size: number, stampAt: number, bucket: number): number {
    const d = this.data
    const newest = d[stampAt]

    if (bucket > newest) {
      for (let b = Math.max(newest + 1, bucket - size + 1); b <= bucket; b++) {
        d[inAt + (b % size)] = 0
        d[outAt + (b % size)] = 0
      }

      d[stampAt] = bucket
    }

    return d[stampAt] % size
  }

  /** The `count` buckets up to and including slot `newest` */
  private sum (at: number, size: number, newest: number, count: number): number {
    let total = 0

    for (let i = 0; i < count; i++) {
      total += this.data[at + ((newest - i + size) % size)]
    }

    return total
  }
}
