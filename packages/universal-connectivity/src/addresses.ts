/**
 * Address and connection classification, by protocol codes and connection
 * properties, never by substring tests on multiaddr strings.
 */
import { isNetworkAddress, isPrivate } from '@libp2p/utils'
import { Circuit } from '@multiformats/multiaddr-matcher'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A connection through a relay: not direct, or with relay limits applied */
export function isRelayed (conn: Pick<Connection, 'direct' | 'limits'>): boolean {
  return !conn.direct || conn.limits != null
}

/** A `/p2p-circuit` address */
export function isCircuitAddr (ma: Multiaddr): boolean {
  return Circuit.exactMatch(ma) || ma.getComponents().some(c => c.name === 'p2p-circuit')
}

/** An IP address that is routable on the internet (not private, loopback or link-local) */
export function isPublicAddr (ma: Multiaddr): boolean {
  if (isCircuitAddr(ma) || !isNetworkAddress(ma)) {
    return false
  }

  return isPrivate(ma) === false
}

/** The relay peer id of a `/p2p/<relay>/p2p-circuit` address */
export function relayIdOf (ma: Multiaddr): string | undefined {
  const components = ma.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')

  if (circuit < 1) {
    return undefined
  }

  const before = components[circuit - 1]
  return before.name === 'p2p' ? before.value : undefined
}

/** The address without its trailing `/p2p/<id>`, if any */
export function withoutPeerId (ma: Multiaddr): Multiaddr {
  const components = ma.getComponents()
  const last = components[components.length - 1]

  if (last?.name === 'p2p') {
    return ma.decapsulateCode(last.code)
  }

  return ma
}
