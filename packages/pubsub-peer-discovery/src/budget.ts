/**
 * A node-wide token bucket: `perInterval` tokens per interval, bursting up
 * to that many. Bounds work that anyone with a fresh key could otherwise
 * make us do (see PROTOCOL.md, "Bounds").
 */
export class Budget {
  private readonly perInterval: number
  private readonly interval: number
  private tokens: number
  private updated = -Infinity

  constructor (perInterval: number, interval: number) {
    this.perInterval = perInterval
    this.interval = interval
    this.tokens = perInterval
  }

  /** Takes one token if there is one */
  take (now: number): boolean {
    this.tokens = Math.min(this.perInterval, this.tokens + Math.max(0, now - this.updated) / this.interval * this.perInterval)
    this.updated = now

    if (this.tokens < 1) {
      return false
    }

    this.tokens -= 1
    return true
  }

  reset (): void {
    this.tokens = this.perInterval
    this.updated = -Infinity
  }
}
