/**
 * One error class per failure; callers test `err.name`.
 */
import { AbortError } from '@libp2p/interface'
import type { DialAttempt } from './fallback-dialer.ts'

/** An option given to `universalConnectivity()` or an argument of `dialPeer` is invalid */
export class InvalidConnectivityOptionError extends Error {
  static name = 'InvalidConnectivityOptionError'
  name = 'InvalidConnectivityOptionError'
}

/** Every direct and relayed attempt of `dialPeer` failed; `attempts` lists each */
export class ConnectivityDialError extends Error {
  static name = 'ConnectivityDialError'
  name = 'ConnectivityDialError'
  readonly attempts: DialAttempt[]

  constructor (message: string, attempts: DialAttempt[]) {
    super(`${message}: ${attempts.map(a => `${a.path} ${a.addrs.map(String).join(',') || '(no address)'} -> ${a.error ?? 'ok'}`).join('; ')}`)
    this.attempts = attempts
  }
}

/** `dialPeer` found no address at all to try (none given, none known, no relay) */
export class NoDialableAddressError extends Error {
  static name = 'NoDialableAddressError'
  name = 'NoDialableAddressError'
}

/** The service is not started */
export class NotStartedError extends Error {
  static name = 'NotStartedError'
  name = 'NotStartedError'
}

/**
 * What an aborted operation rejects with: the signal's reason (an
 * `AbortError` from `AbortController.abort()`, or whatever the caller gave),
 * or an `AbortError` when the reason is not an error
 */
export function abortReason (signal?: AbortSignal): Error {
  const reason = signal?.reason
  return reason instanceof Error ? reason : new AbortError(typeof reason === 'string' ? reason : 'The operation was aborted')
}
