/**
 * A token bucket per gossipsub author: each may send `perInterval`
 * announcements per interval (bursting up to that many). The authors
 * tracked at once are bounded; the least recently seen is forgotten first.
 */
interface Bucket {
  tokens: number
  updated: number
}

export class AuthorRateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perInterval: number
  private readonly interval: number
  private readonly maxAuthors: number

  constructor (perInterval: number, interval: number, maxAuthors: number) {
    this.perInterval = perInterval
    this.interval = interval
    this.maxAuthors = maxAuthors
  }

  /** True when the author may send one more message now */
  allow (author: string, now: number): boolean {
    const bucket = this.buckets.get(author) ?? { tokens: this.perInterval, updated: now }
    this.buckets.delete(author)

    bucket.tokens = Math.min(this.perInterval, bucket.tokens + ((now - bucket.updated) / this.interval) * this.perInterval)
    bucket.updated = now
    const allowed = bucket.tokens >= 1

    if (allowed) {
      bucket.tokens -= 1
    }

    this.buckets.set(author, bucket)

    while (this.buckets.size > this.maxAuthors) {
      this.buckets.delete(this.buckets.keys().next().value as string)
    }

    return allowed
  }

  clear (): void {
    this.buckets.clear()
  }
}
