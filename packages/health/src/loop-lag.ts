/**
 * How long this process's own event loop was stalled: the time a probe's
 * remote had no chance to be heard, because we were not running (a host
 * whose cores are saturated by other processes, a long GC, a long task).
 *
 * Measured as timer drift: while anyone holds it, a timer fires every
 * `LAG_SAMPLE_INTERVAL`; whatever it fires later than due, beyond
 * `LAG_TOLERANCE`, counts as stall. It runs only while probes are in
 * flight (`hold()`), so an idle service costs no wake-ups, and browser-safe
 * (timers only). Time comes from an injectable clock: the one the timers
 * use (`Date.now`, faked together with `setTimeout` in tests).
 */
import { LAG_MAX_DRIFT, LAG_SAMPLE_INTERVAL, LAG_TOLERANCE } from './constants.ts'

/** A source of local event-loop stall measurements (see `ConnectionHealthInit.loopLag`) */
export interface LoopLag {
  /** The clock, in ms */
  now(): number
  /** Stalled ms so far; only differences of two readings mean anything */
  stalled(): number
  /** Measures until the returned function is called (idempotent) */
  hold(): () => void
}

export class TimerLoopLag implements LoopLag {
  private readonly clock: () => number
  private total = 0
  private holders = 0
  private due = 0
  private timer?: ReturnType<typeof setTimeout>

  constructor (clock: () => number = () => Date.now()) {
    this.clock = clock
  }

  now (): number {
    return this.clock()
  }

  stalled (): number {
    // a sample not yet run (the loop has just woken up) counts already
    return this.total + (this.timer != null ? this.drift(this.clock() - this.due) : 0)
  }

  hold (): () => void {
    let held = true

    if (this.holders++ === 0) {
      this.schedule()
    }

    return () => {
      if (held) {
        held = false

        if (--this.holders === 0) {
          clearTimeout(this.timer)
          this.timer = undefined
        }
      }
    }
  }

  /** Lateness that counts as stall: beyond the tolerance, and not a clock jump */
  private drift (late: number): number {
    return late > LAG_TOLERANCE && late < LAG_MAX_DRIFT ? late : 0
  }

  private schedule (): void {
    this.due = this.clock() + LAG_SAMPLE_INTERVAL
    this.timer = setTimeout(() => {
      this.total += this.drift(this.clock() - this.due)
      this.schedule()
    }, LAG_SAMPLE_INTERVAL)
    // never keeps a process alive
    const timer = this.timer as { unref?(): void }
    timer.unref?.()
  }
}
