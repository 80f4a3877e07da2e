/**
 * A probe's deadline that lets the event loop read its sockets first: after
 * a blocked loop (a loaded host, a long GC) Node runs due timers before it
 * reads sockets, so a deadline acted on at once would fail a probe whose
 * answer came in time and is waiting to be read. The timeout runs one turn
 * of the loop later (after its I/O), and only if the probe has not ended.
 */
export function probeTimer (ms: number, onTimeout: () => void): () => void {
  let late: ReturnType<typeof setTimeout> | undefined
  const timer = setTimeout(() => { late = setTimeout(onTimeout, 0) }, ms)

  return () => {
    clearTimeout(timer)
    clearTimeout(late)
  }
}
