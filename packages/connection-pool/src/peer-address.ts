/**
 * What `dial` and `newStream` accept: what `libp2p.dial` accepts. A
 * `PeerId`; a `Multiaddr`, whose peer is taken from its last `/p2p/`
 * component or, without one, learned from the first connection; or a
 * non-empty `Multiaddr[]` whose `/p2p/` ids all agree. Anything else is an
 * `InvalidParametersError`, before anything is dialled.
 */
import { InvalidParametersError, isPeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, isMultiaddr, multiaddr } from '@multiformats/multiaddr'
import { MAX_ADDRESSES_PER_CALL } from './constants.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A peer, with or without addresses, or addresses alone */
export type PeerInput = PeerId | Multiaddr | Multiaddr[]

export interface DialTarget {
  /** Undefined for addresses without a peer id */
  peer?: PeerId

  /** The caller's addresses; empty for a bare `PeerId` */
  addrs: Multiaddr[]
}

function describe (value: unknown): string {
  if (value == null) {
    return String(value)
  }

  if (Array.isArray(value)) {
    return 'an array'
  }

  return typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`
}

function peerIdOf (ma: Multiaddr): PeerId | undefined {
  // as in libp2p: in a circuit address the peer is the one after the last
  // /p2p-circuit; a /p2p/ before it is the relay's
  const components = ma.getComponents()
  const afterCircuit = components.slice(components.findLastIndex(c => c.name === 'p2p-circuit') + 1)
  const value = afterCircuit.findLast(c => c.code === CODE_P2P)?.value

  if (value == null) {
    return undefined
  }

  try {
    return peerIdFromString(value)
  } catch (err: any) {
    throw new InvalidParametersError(`${ma} carries an invalid peer id: ${err.message}`)
  }
}

/** Validates a `dial`/`newStream` argument; throws `InvalidParametersError` */
export function toDialTarget (input: unknown): DialTarget {
  if (isPeerId(input)) {
    return { peer: input, addrs: [] }
  }

  const list: unknown[] = Array.isArray(input) ? input : [input]

  if (list.length === 0) {
    throw new InvalidParametersError('Expected a PeerId, a Multiaddr or a non-empty Multiaddr[], got an empty array')
  }

  if (list.length > MAX_ADDRESSES_PER_CALL) {
    throw new InvalidParametersError(`At most ${MAX_ADDRESSES_PER_CALL} multiaddrs per call, got ${list.length}`)
  }

  const addrs: Multiaddr[] = []
  let peer: PeerId | undefined

  for (const [index, ma] of list.entries()) {
    if (!isMultiaddr(ma)) {
      throw new InvalidParametersError(`Expected a PeerId, a Multiaddr or a Multiaddr[], got ${describe(ma)}${Array.isArray(input) ? ` at index ${index}` : ''}`)
    }

    const id = peerIdOf(ma)

    if (index === 0) {
      peer = id
    } else if (id == null ? peer != null : peer?.equals(id) !== true) {
      throw new InvalidParametersError('Multiaddrs must all have the same peer id or have no peer id')
    }

    addrs.push(ma)
  }

  return { peer, addrs }
}

/** The addresses with `/p2p/<peer>` added where missing, so a dial checks who answers */
export function withPeerId (addrs: Multiaddr[], peer: PeerId): Multiaddr[] {
  return addrs.map(ma => peerIdOf(ma) == null ? ma.encapsulate(multiaddr(`/p2p/${peer}`)) : ma)
}
