/**
 * The other arguments of the public methods, checked before anything is
 * dialled: the protocols of `newStream`, the options object and its signal
 * (AbortSignal-like, as libp2p takes it),
 * and the `PeerId` of the query methods and `release()`. A wrong type is an
 * `InvalidParametersError`. (The peer of `dial`/`newStream` is checked in
 * `peer-address.ts`.)
 */
import { AbortError, InvalidParametersError, isPeerId } from '@libp2p/interface'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** `protocols` as a non-empty list of non-empty strings */
export function checkProtocols (protocols: unknown): string[] {
  const list: unknown[] = Array.isArray(protocols) ? protocols : [protocols]

  if (list.length === 0 || list.some(p => typeof p !== 'string' || p === '')) {
    throw new InvalidParametersError('Expected a protocol or a non-empty list of protocols (non-empty strings)')
  }

  return list as string[]
}

/** What `checkOptions` gives back: the options, and a `done()` to call when the call ends */
export interface CheckedOptions <T> {
  /** The caller's options; `signal`, if any, an `AbortSignal` of this realm */
  options: T

  /** Removes the listener put on a foreign signal; call it once, when the call ends */
  done(): void
}

/** Whether `signal` can be followed as libp2p's `any-signal` follows it */
function isAbortSignalLike (signal: any): boolean {
  return typeof signal === 'object' && typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' && typeof signal.removeEventListener === 'function'
}

/**
 * `options` as an object (or undefined) whose `signal`, if any, is
 * AbortSignal-like, as libp2p accepts it (it combines signals with
 * `any-signal`): an `AbortSignal` of another realm (an iframe, jsdom) or a
 * polyfill is followed by one of this realm, which the pool's
 * `AbortSignal.any` needs, until `done()`.
 */
export function checkOptions <T extends AbortOptions> (options: unknown): CheckedOptions<T> {
  if (options === undefined) {
    return { options: {} as T, done: () => {} } // eslint-disable-line @typescript-eslint/consistent-type-assertions
  }

  if (typeof options !== 'object' || options === null) {
    throw new InvalidParametersError(`Expected an options object, got ${options === null ? 'null' : typeof options}`)
  }

  const signal: any = (options as AbortOptions).signal

  if (signal == null || signal instanceof AbortSignal) {
    return { options: options as T, done: () => {} }
  }

  if (!isAbortSignalLike(signal)) {
    throw new InvalidParametersError('options.signal must be an AbortSignal (or an object like one: aborted, reason, addEventListener, removeEventListener)')
  }

  const controller = new AbortController()
  const onAbort = (): void => { controller.abort(signal.reason ?? new AbortError('The operation was aborted')) }

  if (signal.aborted === true) {
    onAbort()

    return { options: { ...options, signal: controller.signal } as T, done: () => {} }
  }

  signal.addEventListener('abort', onAbort, { once: true })

  return {
    options: { ...options, signal: controller.signal } as T,
    done: () => { signal.removeEventListener('abort', onAbort) }
  }
}

/** A `PeerId`, or an `InvalidParametersError` */
export function checkPeerId (peer: unknown): PeerId {
  if (!isPeerId(peer)) {
    throw new InvalidParametersError(`Expected a PeerId, got ${peer === null ? 'null' : typeof peer}`)
  }

  return peer
}
