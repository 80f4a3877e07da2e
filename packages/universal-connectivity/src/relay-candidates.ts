/**
 * The relays `dialPeer` may reach a target through. In circuit relay v2 a
 * relay connects us to a peer only if that peer holds a reservation on it
 * (any other relay answers NO_RESERVATION), so the candidates are exactly
 * the relays named in the target's circuit addresses: those given to
 * `dialPeer`, in the peer store (identify, discovery) or reported by a
 * discovery module. A circuit address that names its relay without the
 * relay's own address (`/p2p/<relay>/p2p-circuit`) is completed with the
 * relay's listen addresses from the peer store, or the remote address of an
 * outbound connection to it, never an inbound connection's (an ephemeral
 * port). Candidates are ordered by what `@x/health` knows of each relay,
 * best first; unmeasured relays sit between good and bad ones.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddr, isRelayed, relayIdOf, withoutPeerId } from './addresses.ts'
import { UNMEASURED_RELAY_SCORE } from './constants.ts'
import type { AbortOptions, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RelayCandidate {
  /** The relay's peer id */
  relay: string
  /** Circuit addresses to the target through this relay, ending in `/p2p/<target>` */
  addrs: Multiaddr[]
}

export interface RelayCandidatesInit {
  peerStore: Pick<PeerStore, 'get'>
  connectionManager: Pick<ConnectionManager, 'getConnections'>
  scoreOf(relay: string): number | undefined
}

export async function relayCandidates (target: PeerId, circuits: Multiaddr[], init: RelayCandidatesInit, options: AbortOptions = {}): Promise<RelayCandidate[]> {
  const byRelay = new Map<string, Set<string>>()
  const targetId = target.toString()

  for (const ma of circuits.filter(isCircuitAddr)) {
    const relay = relayIdOf(ma)

    if (relay == null || relay === targetId) {
      continue
    }

    const set = byRelay.get(relay) ?? new Set<string>()
    byRelay.set(relay, set)

    for (const addr of hasRelayTransport(ma) ? [toTarget(ma, targetId)] : await relayAddrs(relay, targetId, init, options)) {
      set.add(addr)
    }
  }

  const candidates = [...byRelay]
    .filter(([, addrs]) => addrs.size > 0)
    .map(([relay, addrs]) => ({ relay, addrs: [...addrs].map(a => multiaddr(a)), score: init.scoreOf(relay) ?? UNMEASURED_RELAY_SCORE }))

  // Array.prototype.sort is stable: equal scores keep the order they were learned in
  return candidates.sort((a, b) => b.score - a.score).map(({ relay, addrs }) => ({ relay, addrs }))
}

/** True when the address has a transport part before `/p2p/<relay>/p2p-circuit` */
function hasRelayTransport (ma: Multiaddr): boolean {
  const components = ma.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  return circuit > 1
}

/**
 * `<relay addr>/p2p/<relay>/p2p-circuit/p2p/<target>`, whatever followed
 * `/p2p-circuit` before; built from the components, so values holding a `/`
 * (`/unix`, `/http-path`) stay encoded
 */
function toTarget (ma: Multiaddr, target: string): string {
  const components = ma.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  return multiaddr(components.slice(0, circuit + 1)).encapsulate(`/p2p/${target}`).toString()
}

async function relayAddrs (relay: string, target: string, init: RelayCandidatesInit, options: AbortOptions): Promise<string[]> {
  const out: string[] = []

  try {
    const relayId = peerIdFromString(relay)

    try {
      const stored = await init.peerStore.get(relayId, options)
      out.push(...stored.addresses.map(a => a.multiaddr).filter(ma => !isCircuitAddr(ma)).map(ma => withoutPeerId(ma).toString()))
    } catch {
      // not in the peer store
    }

    out.push(...init.connectionManager.getConnections(relayId)
      .filter(conn => conn.status === 'open' && conn.direction === 'outbound' && !isRelayed(conn))
      .map(conn => withoutPeerId(conn.remoteAddr).toString()))
  } catch {
    // not a peer id
  }

  return [...new Set(out)].map(addr => `${addr}/p2p/${relay}/p2p-circuit/p2p/${target}`)
}
