/**
 * Backoff with jitter for dials, and which dial failures are worth another
 * try. Whether the caller gave up is told by the caller's signal, never by
 * an error's name: libp2p's own per-address timeout rejects with an
 * `AbortError` too, and that one is worth a retry.
 */
import type { RetryOptions } from './index.ts'

/**
 * Failures that another attempt cannot fix: the remote is not the peer we
 * asked for, a gater or the remote denied the dial, there is nothing to
 * dial, or the arguments are wrong.
 */
const NOT_RETRYABLE = new Set([
  'UnexpectedPeerError',
  'InvalidPeerIdError',
  'InvalidParametersError',
  'InvalidMultiaddrError',
  'DialDeniedError',
  'ConnectionDeniedError',
  'ConnectionInterceptedError',
  'NoValidAddressesError',
  'PoolNotStartedError'
])

/**
 * libp2p wraps a peer-id mismatch found during the handshake in an
 * `EncryptionFailedError` (keeping only the message), and the failures of a
 * dial to several addresses in an `AggregateError`: look inside both.
 *
 * @internal
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
 * Failures that mean time ran out (a timeout, or libp2p aborting a slow
 * address) rather than the remote saying no.
 */
const TIMED_OUT = new Set(['TimeoutError', 'AbortError'])

/**
 * libp2p aborts a dial to one address after its `addressDialTimeout` (6 s,
 * below the pool's `dialTimeout`), and its upgrader rewraps an abort of the
 * handshake or of the muxer selection keeping only the message
 * (`EncryptionFailedError: The operation was aborted due to timeout`)
 */
const TIMED_OUT_MESSAGE = /\b(?:aborted|timed out|timeout)\b/i

/**
 * Whether a failed extra dial to a reachable peer is the remote refusing the
 * connection (closed or reset during the upgrade, a denied dial, a refused
 * socket): not a timeout, and not an abort by the caller, `release()` or
 * `stop()` (the dialer checks those by their signals before asking).
 *
 * @internal
 */
export function isRefusal (err: any, depth = 0): boolean {
  if (err == null || depth > 4) {
    return false
  }

  if (TIMED_OUT.has(err.name) || (err.cause == null && TIMED_OUT_MESSAGE.test(String(err.message)))) {
    return false
  }

  if (Array.isArray(err.errors) && err.errors.length > 0) {
    return err.errors.some((e: any) => isRefusal(e, depth + 1))
  }

  return err.cause == null || isRefusal(err.cause, depth + 1)
}

/**
 * The delay before retry number `retry` (1 for the first retry):
 * `initialDelay * backoffMultiplier ^ (retry - 1)`, capped at `maxDelay`,
 * then moved by up to `jitterFactor` of itself either way and capped again,
 * so no delay ever exceeds `maxDelay`.
 *
 * @internal
 */
export function backoffDelay (retry: number, options: Required<RetryOptions>, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelay, options.initialDelay * Math.pow(options.backoffMultiplier, Math.max(0, retry - 1)))
  const jitter = base * options.jitterFactor * (2 * random() - 1)

  return Math.round(Math.min(options.maxDelay, Math.max(0, base + jitter)))
}
