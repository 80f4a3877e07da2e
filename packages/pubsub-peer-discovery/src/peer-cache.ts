/**
 * The peers heard on our topics: bounded (least recently heard evicted
 * first) and expiring, so that `peer` is emitted only for peers that are
 * new, whose addresses changed, or that were not heard for a while.
 *
 * Each entry keeps the ttl it was heard with: a peer counts as heard until
 * the longer of that ttl and the current one has passed, so a size estimate
 * that shrinks (shorter ttl) never makes a peer heard recently look returned
 * (or pruned) before the gap its own, slower rhythm allows.
 *
 * A peer heard first-hand is established once we have evidence it is more
 * than a key: it is connected to us, or it announced itself again at least
 * `settle` ms after we first heard it (PROTOCOL.md, R16). Keys are free, so
 * a full cache evicts the least recently heard peer that is not
 * established first, and only the established ones count in the size
 * estimate (`established`).
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
  /** When it was first heard announcing itself (again, after it had expired); Infinity if never */
  directSince: number
  /** Connected to us when heard, or heard announcing itself again `settle` ms after `directSince` */
  established: boolean
}

function expired (entry: Entry, now: number, ttl: number): boolean {
  return now - entry.heard > Math.max(entry.ttl, ttl)
}

export type CacheVerdict = 'new' | 'changed' | 'returned' | 'known'

export class PeerCache {
  private readonly entries = new Map<string, Entry>()
  /** Keys of the entries not established, least recently heard first (a subset of `entries`) */
  private readonly unproven = new Set<string>()
  readonly maxPeers: number
  private readonly settle: number

  /**
   * @param maxPeers - entries kept
   * @param settle - how long after first hearing a peer announcing itself
   * a second announcement makes it established, ms
   */
  constructor (maxPeers: number, settle = 0) {
    this.maxPeers = maxPeers
    this.settle = settle
  }

  /** The addresses of an entry, as compared */
  static key (multiaddrs: Multiaddr[]): string {
    return multiaddrs.map(ma => ma.toString()).sort().join(',')
  }

  /** Forgets the peer; its addresses (as `key`) if it was heard within the ttl */
  forget (peer: PeerId, now: number, ttl: number): string | undefined {
    const entry = this.entries.get(peer.toString())
    this.delete(peer.toString())
    return entry == null || expired(entry, now, ttl) ? undefined : entry.addrs
  }

  /**
   * Records an announcement (or, if `relayed`, a record another peer
   * relayed) and says whether it is news; `connected`: its author is
   * connected to us
   */
  heard (peer: PeerId, multiaddrs: Multiaddr[], now: number, ttl: number, relayed = false, connected = false): CacheVerdict {
    const key = peer.toString()
    const addrs = PeerCache.key(multiaddrs)
    const previous = this.entries.get(key)

    // re-insert so iteration order is least recently heard first
    this.entries.delete(key)
    const fresh = previous == null || expired(previous, now, ttl)
    const firstHeard = relayed ? -Infinity : now
    const first = fresh ? firstHeard : previous.first
    const direct = !relayed || (!fresh && previous.direct)
    const directSince = !fresh && previous.directSince <= now ? previous.directSince : relayed ? Infinity : now
    const established = !relayed && (connected || (!fresh && (previous.established || now - previous.directSince >= this.settle)))
    this.entries.set(key, { addrs, heard: now, first, ttl, direct, directSince, established })
    this.unproven.delete(key)

    if (!established) {
      this.unproven.add(key)
    }

    // peers past their ttl go first (established ones gone would otherwise
    // hold their places until the next prune, and evict each newcomer on
    // arrival); then, keys being free, the least recently heard peer not
    // established
    if (this.entries.size > this.maxPeers) {
      this.prune(now, ttl)
    }

    while (this.entries.size > this.maxPeers) {
      const unproven = this.unproven.values().next()
      this.delete(unproven.done === true ? this.entries.keys().next().value as string : unproven.value)
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

  /**
   * Established peers (connected to us, or heard announcing themselves
   * twice, `settle` apart) heard within `ttl` itself (not the longer ttl
   * they were heard with, which a flood of fresh keys may have lengthened):
   * the size estimate, which fresh keys cannot grow
   */
  established (now: number, ttl: number): number {
    let count = 0

    for (const entry of this.entries.values()) {
      if (entry.established && now - entry.heard <= ttl) {
        count++
      }
    }

    return count
  }

  /** Drops entries older than the ttl */
  prune (now: number, ttl: number): void {
    for (const [key, entry] of this.entries) {
      if (expired(entry, now, ttl)) {
        this.delete(key)
      }
    }
  }

  get size (): number {
    return this.entries.size
  }

  clear (): void {
    this.entries.clear()
    this.unproven.clear()
  }

  private delete (key: string): void {
    this.entries.delete(key)
    this.unproven.delete(key)
  }
}
