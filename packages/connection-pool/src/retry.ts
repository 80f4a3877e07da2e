/**
 * Backoff with jitter for dials, and which dial failures are worth another
 * try.
 */
import type { RetryOptions } from './index.ts'

/**
 * Failures that another attempt cannot fix: the remote is not the peer we
 * asked for, a gater or the remote denied the dial, the caller aborted, or
 * there is nothing to dial.
 */
const NOT_RETRYABLE = new Set([
  'UnexpectedPeerError',
  'InvalidPeerIdError',
  'DialDeniedError',
  'ConnectionDeniedError',
  'ConnectionInterceptedError',
  'NoValidAddressesError',
  'AbortError',
  'PoolNotStartedError'
])

/**
 * libp2p wraps a peer-id mismatch found during the handshake in an
 * `EncryptionFailedError` (keeping only the message), and the failures of a
 * dial to several addresses in an `AggregateError`: look inside both.
 */
export function isRetryable (err: any, depth = 0): boolean {
  if (err == null || depth > 4) {
    return true
  }

  if (NOT_RETRYABLE.has(err.name)) {
    return false
  }

  if (err.name === 'EncryptionFailedError' && /unexpected peer|peer id|does not match/i.test(String(err.message))) {
    return false
  }

  if (Array.isArray(err.errors) && err.errors.length > 0 && err.errors.every((e: any) => !isRetryable(e, depth + 1))) {
    return false
  }

  return err.cause == null || isRetryable(err.cause, depth + 1)
}

/**
 * The delay before retry number `retry` (1 for the first retry):
 * `initialDelay * backoffMultiplier ^ (retry - 1)`, capped at `maxDelay`,
 * then moved by up to `jitterFactor` of itself either way and capped again,
 * so no delay ever exceeds `maxDelay`.
 */
export function backoffDelay (retry: number, options: Required<RetryOptions>, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelay, options.initialDelay * Math.pow(options.backoffMultiplier, Math.max(0, retry - 1)))
  const jitter = base * options.jitterFactor * (2 * random() - 1)

  return Math.round(Math.min(options.maxDelay, Math.max(0, base + jitter)))
}

/** Resolves after `ms`, or rejects when the signal aborts */
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
