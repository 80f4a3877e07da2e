/**
 * What the scheduler queues: a `Flow` per shaped stream (its buckets, credit
 * and demand) and a `ClassQueue` per class (its waiting flows in arrival
 * order, DRR deficit, rate buckets and queue statistics).
 */
import { GRANT_TIME, MAX_GRANT, MIN_GRANT } from './constants.ts'
import { TokenBucket, burstFor, grantFor } from './token-bucket.ts'
import type { SchedulerClassOptions } from './scheduler.ts'

/** Queue statistics of one class */
export interface ClassQueueStats {
  /** Streams waiting for a grant */
  streams: number
  /** Bytes those streams want to send */
  bytes: number
  /** The last grant's wait, ms */
  lastDelay: number
  /** EWMA of the waits, ms */
  avgDelay: number
  /** Longest wait of the current and the previous second, ms */
  maxDelay: number
  /** Grants given */
  grants: number
}

/** One shaped stream as the scheduler sees it */
export class Flow {
  readonly cls: ClassQueue
  /** Peer and class and (background) congestion buckets */
  readonly buckets: TokenBucket[]
  /** Bytes granted, not yet sent */
  credit = 0
  /** Bytes waiting, as last reported */
  demand = 0
  queued = false
  /** When it started waiting */
  since = 0
  closed = false
  readonly wake: () => void

  constructor (cls: ClassQueue, buckets: TokenBucket[], wake: () => void) {
    this.cls = cls
    this.buckets = buckets
    this.wake = wake
  }

  ready (now: number): boolean {
    for (const bucket of this.buckets) {
      if (!bucket.ready(now)) {
        return false
      }
    }

    return true
  }

  wait (now: number): number {
    let wait = 0

    for (const bucket of this.buckets) {
      wait = Math.max(wait, bucket.wait(now))
    }

    return wait
  }

  /** The grant size: `GRANT_TIME` at the tightest rate over this flow */
  grantSize (nodeRate: number): number {
    let rate = nodeRate

    for (const bucket of this.buckets) {
      rate = Math.min(rate, bucket.rate)
    }

    return grantFor(rate, GRANT_TIME, MIN_GRANT, MAX_GRANT)
  }
}

export class ClassQueue {
  readonly options: SchedulerClassOptions
  readonly maxBucket: TokenBucket
  readonly minBucket?: TokenBucket
  /** Waiting flows, in arrival order */
  readonly flows: Flow[] = []
  /** DRR: bytes this class may still take in the current round */
  deficit = 0
  fresh = true
  quantum = 0
  readonly stats: ClassQueueStats = { streams: 0, bytes: 0, lastDelay: 0, avgDelay: 0, maxDelay: 0, grants: 0 }
  private maxDelaySecond = 0
  private prevMaxDelay = 0

  constructor (options: SchedulerClassOptions, burstTime: number, now: number, catchUpTime = 0) {
    this.options = options
    const grant = grantFor(options.maxRate, GRANT_TIME, MIN_GRANT, MAX_GRANT)
    this.maxBucket = new TokenBucket(options.maxRate, burstFor(options.maxRate, burstTime, grant), now, catchUpTime)

    if (options.minRate > 0) {
      const minGrant = grantFor(options.minRate, GRANT_TIME, MIN_GRANT, MAX_GRANT)
      this.minBucket = new TokenBucket(options.minRate, burstFor(options.minRate, burstTime, minGrant), now, catchUpTime)
    }
  }

  /** Index of the first waiting flow whose buckets allow it to send, or -1 */
  eligible (now: number): number {
    if (!this.maxBucket.ready(now)) {
      return -1
    }

    for (let i = 0; i < this.flows.length; i++) {
      if (this.flows[i].ready(now)) {
        return i
      }
    }

    return -1
  }

  recordDelay (delay: number, now: number, ewma: number): void {
    const second = Math.floor(now / 1000)

    if (second !== this.maxDelaySecond) {
      this.prevMaxDelay = second === this.maxDelaySecond + 1 ? this.stats.maxDelay : 0
      this.maxDelaySecond = second
      this.stats.maxDelay = 0
    }

    this.stats.lastDelay = delay
    this.stats.avgDelay = this.stats.grants === 0 ? delay : this.stats.avgDelay + ewma * (delay - this.stats.avgDelay)
    this.stats.maxDelay = Math.max(this.stats.maxDelay, delay)
    this.stats.grants++
  }

  /** Longest wait over the current and previous second */
  maxRecentDelay (now: number): number {
    const second = Math.floor(now / 1000)

    if (second === this.maxDelaySecond) {
      return Math.max(this.stats.maxDelay, this.prevMaxDelay)
    }

    return second === this.maxDelaySecond + 1 ? this.stats.maxDelay : 0
  }
}
