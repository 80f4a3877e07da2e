/**
 * Bounded exponential back-off with jitter between reopens of a peer's
 * stream: after the n-th failure in a row the next attempt waits a random
 * time between half and all of min(maxDelay, initialDelay * 2^(n-1)).
 * A stream that proves itself (valid input from the remote, or a long
 * enough life) resets it.
 */
export interface BackoffSettings {
  initialDelay: number
  maxDelay: number
}

export class Backoff {
  /** Failures in a row */
  failures = 0
  private readonly settings: BackoffSettings
  private readonly random: () => number

  constructor (settings: BackoffSettings, random: () => number = Math.random) {
    this.settings = settings
    this.random = random
  }

  /** Counts a failure; returns the delay before the next attempt, ms */
  fail (): number {
    this.failures++
    const base = Math.min(this.settings.maxDelay, this.settings.initialDelay * 2 ** Math.min(this.failures - 1, 30))
    return Math.round(base / 2 + this.random() * base / 2)
  }

  succeed (): void {
    this.failures = 0
  }
}
