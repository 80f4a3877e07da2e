/**
 * A token bucket in bytes that may go into debt: a grant is taken whole
 * when the bucket is not negative, and the bucket must refill past zero
 * before the next one. Over any interval the bytes taken are at most
 * `rate x time + max(burst, catchUpTime of rate) + one grant`, so the
 * long-run rate is exact whatever the grant sizes, and a late timer (a busy
 * event loop) costs no rate up to `catchUpTime`: a bucket in use keeps that
 * much unspent rate, an idle one only its burst. Catching up sends faster
 * than the rate for a moment, which queues at a bottleneck running near
 * the rate: the trade-off is the `catchUpTime` option's.
 */

/** Below this a bucket counts as empty (float rounding of refills) */
const EPSILON = 1e-6

/**
 * A bucket taken from within this long is in use: a late timer (a busy
 * event loop) should not cost it rate, so it keeps up to `catchUpTime` of
 * unspent rate instead of only its burst, and the scheduler catches up
 */
const IN_USE = 500

export class TokenBucket {
  /** Bytes per second; `Infinity` never limits */
  rate: number
  /** Most tokens an idle bucket holds, bytes */
  burst: number
  tokens: number
  /** ms of rate a bucket in use keeps when its timer fires late */
  catchUpTime: number
  private last: number
  private lastTake = -Infinity

  constructor (rate: number, burst: number, now: number, catchUpTime = 0) {
    this.rate = rate
    this.burst = burst
    this.catchUpTime = catchUpTime
    this.tokens = Number.isFinite(rate) ? burst : Infinity
    this.last = now
  }

  get limited (): boolean {
    return Number.isFinite(this.rate)
  }

  refill (now: number): void {
    if (!this.limited) {
      this.tokens = Infinity
      this.last = now
      return
    }

    if (now > this.last) {
      const cap = now - this.lastTake < IN_USE ? Math.max(this.burst, this.rate * this.catchUpTime / 1000) : this.burst
      this.tokens = Math.min(cap, this.tokens + (now - this.last) * this.rate / 1000)
      this.last = now
    }
  }

  /** Not in debt at `now` */
  ready (now: number): boolean {
    this.refill(now)
    return this.tokens >= -EPSILON
  }

  /** Takes `bytes`, possibly into debt */
  take (bytes: number, now: number): void {
    this.refill(now)

    if (this.limited) {
      this.tokens -= bytes
      this.lastTake = now
    }
  }

  /** Gives back `bytes` taken for something that did not happen, up to the burst */
  refund (bytes: number, now: number): void {
    this.refill(now)

    if (this.limited) {
      this.tokens = Math.max(this.tokens, Math.min(this.burst, this.tokens + bytes))
    }
  }

  /** Milliseconds until the bucket is out of debt (0 when it is) */
  wait (now: number): number {
    this.refill(now)

    if (this.tokens >= -EPSILON) {
      return 0
    }

    return -this.tokens * 1000 / this.rate
  }

  /** Changes the rate from now on; the burst follows when given */
  setRate (rate: number, burst: number, now: number): void {
    this.refill(now)
    this.rate = rate
    this.burst = burst

    if (!this.limited) {
      this.tokens = Infinity
    } else if (!Number.isFinite(this.tokens) || this.tokens > burst) {
      this.tokens = burst
    }
  }
}

/** The grant size for a rate: `GRANT_TIME` of it, within bounds */
export function grantFor (rate: number, grantTime: number, min: number, max: number): number {
  if (!Number.isFinite(rate)) {
    return max
  }

  return Math.max(min, Math.min(max, Math.round(rate * grantTime / 1000)))
}

/** The burst of a bucket at `rate`: `burstTime` of it, at least one grant */
export function burstFor (rate: number, burstTime: number, grant: number): number {
  if (!Number.isFinite(rate)) {
    return Infinity
  }

  return Math.max(grant, rate * burstTime / 1000)
}
