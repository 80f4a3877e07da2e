/**
 * Remembers every discovered peer with each mechanism that found it.
 *
 * `peer:discovery` on the event bus fires only for peers that are new to the
 * peer store, so it cannot say that mDNS found a peer that bootstrap had
 * already found. The tracker therefore listens to each discovery module's own
 * `peer` events (libp2p wires the same events into the peer store) and
 * attributes them by the module's `Symbol.toStringTag`. `peer:discovery` is
 * still heard: a peer it names that no module reported (identify, an inbound
 * connection, a manual `peerStore.merge`) is recorded as `other`.
 *
 * Bounded: at most `maxPeers` peers (least recently seen forgotten first) and
 * `MAX_ADDRS_PER_PEER` addresses per peer.
 */
import { peerDiscoverySymbol } from '@libp2p/interface'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DiscoveryMechanism } from '@x/interface'

/** What the tracker knows about one discovered peer */
export interface DiscoveredPeer {
  id: PeerId
  /** Every mechanism that has found this peer, in the order they did */
  mechanisms: DiscoveryMechanism[]
  /** How often each mechanism reported the peer */
  counts: Partial<Record<DiscoveryMechanism, number>>
  /** When any mechanism first found the peer (ms since epoch) */
  firstSeen: number
  /** When any mechanism last reported the peer (ms since epoch) */
  lastSeen: number
  /** The latest addresses reported for the peer */
  multiaddrs: Multiaddr[]
}

export interface DiscoveryRecordResult {
  peer: DiscoveredPeer
  /** The first time any mechanism found this peer */
  firstSeen: boolean
  /** The first time this mechanism found this peer */
  newMechanism: boolean
}

/** A discovery module as libp2p registers it: an event target of `peer` events */
export interface DiscoverySource {
  mechanism: DiscoveryMechanism
  name: string
  target: EventTarget
}

const MAX_ADDRS_PER_PEER = 16

/** The discovery modules the suite knows, by their `Symbol.toStringTag` */
export const KNOWN_MECHANISMS: Record<string, DiscoveryMechanism> = {
  '@libp2p/mdns': 'mdns',
  '@libp2p/bootstrap': 'bootstrap',
  '@libp2p/kad-dht': 'dht',
  '@libp2p/pubsub-peer-discovery': 'pubsub',
  '@x/pubsub-peer-discovery': 'pubsub'
}

export class DiscoveryTracker {
  private readonly peers = new Map<string, DiscoveredPeer>()
  private readonly maxPeers: number
  private readonly now: () => number

  constructor (maxPeers: number, now: () => number) {
    this.maxPeers = maxPeers
    this.now = now
  }

  record (id: PeerId, mechanism: DiscoveryMechanism, multiaddrs: Multiaddr[] = []): DiscoveryRecordResult {
    const key = id.toString()
    const now = this.now()
    let peer = this.peers.get(key)
    const firstSeen = peer == null

    if (peer == null) {
      peer = { id, mechanisms: [], counts: {}, firstSeen: now, lastSeen: now, multiaddrs: [] }
    }

    // re-insert so the map's order is least recently seen first
    this.peers.delete(key)
    this.peers.set(key, peer)

    const newMechanism = !peer.mechanisms.includes(mechanism)

    if (newMechanism) {
      peer.mechanisms.push(mechanism)
    }

    peer.counts[mechanism] = (peer.counts[mechanism] ?? 0) + 1
    peer.lastSeen = now

    if (multiaddrs.length > 0) {
      peer.multiaddrs = multiaddrs.slice(0, MAX_ADDRS_PER_PEER)
    }

    while (this.peers.size > this.maxPeers) {
      const oldest = this.peers.keys().next().value

      if (oldest == null) {
        break
      }

      this.peers.delete(oldest)
    }

    return { peer, firstSeen, newMechanism }
  }

  has (id: PeerId): boolean {
    return this.peers.has(id.toString())
  }

  get (id: PeerId): DiscoveredPeer | undefined {
    return this.peers.get(id.toString())
  }

  getAll (): DiscoveredPeer[] {
    return [...this.peers.values()].map(p => ({ ...p, mechanisms: [...p.mechanisms], counts: { ...p.counts }, multiaddrs: [...p.multiaddrs] }))
  }

  /** How many remembered peers each mechanism has found */
  countByMechanism (): Record<DiscoveryMechanism, number> {
    const counts: Record<DiscoveryMechanism, number> = { mdns: 0, pubsub: 0, dht: 0, bootstrap: 0, other: 0 }

    for (const peer of this.peers.values()) {
      for (const mechanism of peer.mechanisms) {
        counts[mechanism]++
      }
    }

    return counts
  }

  get size (): number {
    return this.peers.size
  }

  clear (): void {
    this.peers.clear()
  }
}

/**
 * The discovery modules among libp2p's components: those given in
 * `peerDiscovery: [...]` (registered as `peer-discovery-N`) and services that
 * expose `[peerDiscoverySymbol]` (kad-dht, pubsub discovery as a service).
 * `registry` is libp2p's map of components by name.
 */
export function findDiscoverySources (registry: Record<string, unknown>, mechanisms: Record<string, DiscoveryMechanism>): DiscoverySource[] {
  const sources: DiscoverySource[] = []
  const seen = new Set<unknown>()

  for (const [name, component] of Object.entries(registry)) {
    if (component == null || typeof component !== 'object') {
      continue
    }

    const symbolValue = (component as any)[peerDiscoverySymbol]
    let target: unknown

    if (name.startsWith('peer-discovery-')) {
      target = component
    } else if (symbolValue != null && typeof symbolValue === 'object') {
      target = symbolValue
    } else if (symbolValue === true) {
      target = component
    }

    if (!isEventTarget(target) || seen.has(target)) {
      continue
    }

    seen.add(target)
    const tag = String((target as any)[Symbol.toStringTag] ?? (component as any)[Symbol.toStringTag] ?? name)
    sources.push({ name: tag, mechanism: mechanisms[tag] ?? KNOWN_MECHANISMS[tag] ?? 'other', target })
  }

  return sources
}

function isEventTarget (value: unknown): value is EventTarget {
  return value != null && typeof (value as any).addEventListener === 'function' && typeof (value as any).removeEventListener === 'function'
}

export function isPeerInfo (value: unknown): value is PeerInfo {
  return value != null && typeof value === 'object' && (value as any).id != null
}
