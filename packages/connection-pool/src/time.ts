/**
 * The pool's only timers besides maintenance and re-dials: sleeping with an
 * abort, per-attempt timeouts as signals, and waiting on a promise until a
 * signal aborts. All on `setTimeout`, so tests drive them with fake time.
 */
import { TimeoutError } from '@libp2p/interface'

/** Resolves after `ms`, or rejects with the signal's reason when it aborts */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()

  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface Timeout {
  /** Aborts with a `TimeoutError` after the delay */
  signal: AbortSignal
  /** Cancels the timer; call it once the guarded work is done */
  clear(): void
}

export function timeout (ms: number): Timeout {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new TimeoutError(`Timed out after ${ms} ms`)) }, ms)

  return { signal: controller.signal, clear: () => { clearTimeout(timer) } }
}

/** One signal that aborts when any of the given ones does */
export function anySignal (...signals: Array<AbortSignal | undefined>): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s != null))
}

/** Waits for `promise`, or rejects with the signal's reason when it aborts first */
export async function raceSignal <T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) {
    return promise
  }

  signal.throwIfAborted()
  let onAbort: (() => void) | undefined

  try {
    return await Promise.race([
      promise,
      new Promise<never>((resolve, reject) => {
        onAbort = () => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    if (onAbort != null) {
      signal.removeEventListener('abort', onAbort)
    }
  }
}
