/**
 * A probe's deadline, judged against this process's own stalls.
 *
 * It lets the event loop read its sockets first: after a blocked loop (a
 * loaded host, a long GC) Node runs due timers before it reads sockets, so
 * a deadline acted on at once would fail a probe whose answer came in time
 * and is waiting to be read. The timeout runs one turn of the loop later
 * (after its I/O), and only if the probe has not ended.
 *
 * It gives the remote `ms` of our awake time: when the deadline comes and
 * the loop was stalled meanwhile (`LoopLag`), the deadline moves on by the
 * stalled time, at most `STALL_EXTENSION x ms` more in all (moves shorter
 * than `LAG_TOLERANCE` are not made). A probe that still ends without an
 * answer, with stalls in its time and less than `ms` of our awake time,
 * ends `stalled`: we cannot tell a slow remote from our own starvation.
 * Without a measured stall nothing changes, also when the clock stands
 * still (a test faking `Date` alone).
 */
import { LAG_TOLERANCE, STALL_EXTENSION } from './constants.ts'
import type { LoopLag } from './loop-lag.ts'

/** A deadline moves at most this often (each move waits for the stall since the last) */
const MAX_DEADLINE_MOVES = 8

/** How a deadline ended: `stalled` when the remote had less than the timeout of our awake time */
export type Deadline = 'timeout' | 'stalled'

export function probeTimer (ms: number, onTimeout: (how: Deadline) => void, lag?: LoopLag): () => void {
  const release = lag?.hold()
  const started = lag?.now() ?? 0
  const stalled0 = lag?.stalled() ?? 0
  const latest = ms * (1 + STALL_EXTENSION)
  let timer: ReturnType<typeof setTimeout> | undefined
  let late: ReturnType<typeof setTimeout> | undefined
  /** Moves of the deadline: bounded by count too, whatever the clock does */
  let moves = 0

  const due = (): void => {
    late = setTimeout(() => {
      if (lag == null) {
        onTimeout('timeout')
        return
      }

      const elapsed = lag.now() - started
      const stalled = lag.stalled() - stalled0
      // owed: the stalled time not yet waited for, within the bound
      const owed = Math.min(ms + stalled, latest) - elapsed

      if (stalled > 0 && owed >= LAG_TOLERANCE && moves++ < MAX_DEADLINE_MOVES) {
        timer = setTimeout(due, owed)
        return
      }

      release?.()
      onTimeout(stalled > 0 && elapsed - stalled < ms ? 'stalled' : 'timeout')
    }, 0)
  }

  timer = setTimeout(due, ms)

  return () => {
    clearTimeout(timer)
    clearTimeout(late)
    release?.()
  }
}
