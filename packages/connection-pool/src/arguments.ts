/**
 * The other arguments of the public methods, checked before anything is
 * dialled: the protocols of `newStream`, the options object and its signal,
 * and the `PeerId` of the query methods and `release()`. A wrong type is an
 * `InvalidParametersError`. (The peer of `dial`/`newStream` is checked in
 * `peer-address.ts`.)
 */
import { InvalidParametersError, isPeerId } from '@libp2p/interface'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** `protocols` as a non-empty list of non-empty strings */
export function checkProtocols (protocols: unknown): string[] {
  const list: unknown[] = Array.isArray(protocols) ? protocols : [protocols]

  if (list.length === 0 || list.some(p => typeof p !== 'string' || p === '')) {
    throw new InvalidParametersError('Expected a protocol or a non-empty list of protocols (non-empty strings)')
  }

  return list as string[]
}

/** `options` as an object (or undefined) whose `signal`, if any, is an `AbortSignal` */
export function checkOptions <T extends AbortOptions> (options: unknown): T {
  if (options === undefined) {
    return {} as T // eslint-disable-line @typescript-eslint/consistent-type-assertions
  }

  if (typeof options !== 'object' || options === null) {
    throw new InvalidParametersError(`Expected an options object, got ${options === null ? 'null' : typeof options}`)
  }

  const signal = (options as AbortOptions).signal

  if (signal != null && !(signal instanceof AbortSignal)) {
    throw new InvalidParametersError('options.signal must be an AbortSignal')
  }

  return options as T
}

/** A `PeerId`, or an `InvalidParametersError` */
export function checkPeerId (peer: unknown): PeerId {
  if (!isPeerId(peer)) {
    throw new InvalidParametersError(`Expected a PeerId, got ${peer === null ? 'null' : typeof peer}`)
  }

  return peer
}
