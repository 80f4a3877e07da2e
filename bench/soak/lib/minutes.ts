/**
 * The soak's minutes: when one ends, what it counted; when it is checked.
 * A minute is checked `DEATH_GRACE` after it ends (a connection that dies
 * just after a request on it failed still explains it), by a timer armed
 * for it when it ends.
 *
 * Its counts, lag and stalls are read when it ends, not when it is checked
 * (read at the check, a minute counted the first 10 s of the next one). Its
 * check is due when its own timer fires, not when the wall clock says so: a
 * timer armed while the event loop is busy fires early by `Date.now()` (it
 * starts from the loop's stale time), and a minute found "not due yet" was
 * checked with the next one, which then counted nothing (minutes 8 and 9 of
 * the 30-minute soak: 8,557 and 0 requests ok).
 */

export interface MinuteEnd<S> {
  minute: number
  from: number
  to: number
  /** What was read when the minute ended (cumulative totals, lag, stalls) */
  snapshot: S
  /** The snapshot of the minute before (undefined for the first) */
  previous?: S
}

export interface MinuteBookInit<S> {
  /** When the run started, ms */
  start: number
  /** Length of a minute (one row of the table), ms */
  interval: number
  /** Length of the run, ms */
  duration: number
  /** Reads the cumulative totals, the lag and the stalls */
  read(): S
}

export class MinuteBook<S> {
  private readonly init: MinuteBookInit<S>
  private readonly due: Array<MinuteEnd<S>> = []
  private ended = 0
  private lastTo?: number
  private last?: S

  constructor (init: MinuteBookInit<S>) {
    this.init = init
  }

  /**
   * Ends the next minute at its nominal end, or at `now` when that is
   * earlier (a signal, a timer that fired early: the next minute starts
   * there, so no moment falls between two minutes); returns it and whether
   * the run is over
   */
  end (now: number): { minute: number, to: number, over: boolean } {
    const from = this.lastTo ?? this.init.start
    const nominal = Math.min(this.init.start + (this.ended + 1) * this.init.interval, this.init.start + this.init.duration)
    const to = Math.min(nominal, Math.max(now, from))
    this.lastTo = to
    const snapshot = this.init.read()
    this.due.push({ minute: ++this.ended, from, to, snapshot, previous: this.last })
    this.last = snapshot
    return { minute: this.ended, to, over: nominal >= this.init.start + this.init.duration }
  }

  /**
   * How long from `now` until the next minute's nominal end (never past the
   * run's end): its timer is armed for that, so the first minute ends at 1:00
   * whatever the setup before the traffic took (armed for a full minute after
   * the setup, it read the counts and lag of the setup's length of minute 2)
   */
  nextEndIn (now: number): number {
    return Math.min(this.init.start + (this.ended + 1) * this.init.interval, this.init.start + this.init.duration) - now
  }

  /** The minutes up to `minute` not checked yet: the timer armed for `minute` (`DEATH_GRACE` after its end) calls it */
  take (minute: number): Array<MinuteEnd<S>> {
    const out: Array<MinuteEnd<S>> = []

    while (this.due.length > 0 && this.due[0].minute <= minute) {
      out.push(this.due.shift() as MinuteEnd<S>)
    }

    return out
  }

  /** Every minute ended and not yet checked (the last check, at the end or on a signal) */
  takeAll (): Array<MinuteEnd<S>> {
    return this.take(Infinity)
  }

  /** The last minute ended and not checked yet (the end adds the stalls found while settling to it) */
  lastDue (): MinuteEnd<S> | undefined {
    return this.due[this.due.length - 1]
  }
}
