/**
 * The one sleep of the package: resolves after `ms`, or at once when
 * `signal` aborts (it never rejects), holding no timer or listener after.
 */
export async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    return
  }

  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
