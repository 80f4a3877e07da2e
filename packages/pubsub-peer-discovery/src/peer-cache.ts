/**
 * The peers heard on our topics: bounded (least recently heard evicted
 * first) and expiring, so that `peer` is emitted only for peers that are
 * new, whose addresses changed, or that were not heard for a while.
 *
 * Each entry keeps the ttl it was heard with: a peer counts as heard until
 * the longer of that ttl and the current one has passed, so a size estimate
 * that shrinks (shorter ttl) never makes a peer heard recently look returned
 * (or pruned) before the gap its own, slower rhythm allows.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Entry {
  addrs: string
  heard: number
  /**
   * When it was first heard (again, after it had expired); -Infinity when
   * first learned from a record another peer relayed (a peer we learn that
   * way is not joining)
   */
  first: number
  /** The ttl when it was heard, ms */
  ttl: number
  /** Heard announcing itself (not only through a relayed record) */
  direct: boolean
}

function expired (entry: Entry, now: number, ttl: number): boolean {
  return now - entry.heard > Math.max(entry.ttl, ttl)
}

export type CacheVerdict = 'new' | 'changed' | 'returned' | 'known'

export class PeerCache {
  private readonly entries = new Map<string, Entry>()
  readonly maxPeers: number

  constructor (maxPeers: number) {
    this.maxPeers = maxPeers
  }

  /** The addresses of an entry, as compared */
  static key (multiaddrs: Multiaddr[]): string {
    return multiaddrs.map(ma => ma.toString()).sort().join(',')
  }

  /** Forgets the peer; its addresses (as `key`) if it was heard within the ttl */
  forget (peer: PeerId, now: number, ttl: number): string | undefined {
    const entry = this.entries.get(peer.toString())
    this.entries.delete(peer.toString())
    return entry == null || expired(entry, now, ttl) ? undefined : entry.addrs
  }

  /**
   * Records an announcement (or, if `relayed`, a record another peer
   * relayed) and says whether it is news
   */
  heard (peer: PeerId, multiaddrs: Multiaddr[], now: number, ttl: number, relayed = false): CacheVerdict {
    const key = peer.toString()
    const addrs = PeerCache.key(multiaddrs)
    const previous = this.entries.get(key)

    // re-insert so iteration order is least recently heard first
    this.entries.delete(key)
    const fresh = previous == null || expired(previous, now, ttl)
    const firstHeard = relayed ? -Infinity : now
    const first = fresh ? firstHeard : previous.first
    const direct = !relayed || (!fresh && previous.direct)
    this.entries.set(key, { addrs, heard: now, first, ttl, direct })

    while (this.entries.size > this.maxPeers) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }

    if (previous == null) {
      return 'new'
    }

    if (expired(previous, now, ttl)) {
      return 'returned'
    }

    return previous.addrs === addrs ? 'known' : 'changed'
  }

  /** How long ago the peer was first heard, ms (Infinity if unknown) */
  age (peer: PeerId, now: number): number {
    const entry = this.entries.get(peer.toString())
    return entry == null ? Infinity : now - entry.first
  }

  /** Whether the peer was heard within the ttl */
  knows (peer: PeerId, now: number, ttl: number): boolean {
    const entry = this.entries.get(peer.toString())
    return entry != null && !expired(entry, now, ttl)
  }

  /**
   * Peers heard announcing themselves within the ttl (peers known only
   * from relayed records do not count: anyone can relay many)
   */
  live (now: number, ttl: number): number {
    let count = 0

    for (const entry of this.entries.values()) {
      if (entry.direct && !expired(entry, now, ttl)) {
        count++
      }
    }

    return count
  }

  /** Drops entries older than the ttl */
  prune (now: number, ttl: number): void {
    for (const [key, entry] of this.entries) {
      if (expired(entry, now, ttl)) {
        this.entries.delete(key)
      }
    }
  }

  get size (): number {
    return this.entries.size
  }

  clear (): void {
    this.entries.clear()
  }
}
