/**
 * The pool's state, behind the few operations the dialer, the stream opener
 * and the service need: the managed peers, what the pool knows about each
 * pooled connection, and the status of each peer (with a `pool:status`
 * event on every change). Every map here is bounded by `maxPeers` or by the
 * open connections to managed peers; connection records go when their
 * connection closes. A peer that stops being managed leaves its refusal
 * hold behind (`RefusalHolds`, at most `MAX_REFUSAL_HOLDS`).
 */
import { PeerMap } from '@libp2p/peer-collections'
import { POOL_STATUS_EVENT } from '@x/interface'
import { ADDRESS_BYTES, CONNECTION_ENTRY_BYTES, PEER_ENTRY_BYTES, SPELLING_BYTES } from './peer-entry.ts'
import { REFUSAL_HOLD_BYTES, RefusalHolds } from './refusal-holds.ts'
import type { ConnectionPoolComponents } from './index.ts'
import type { PoolMetricsRecorder } from './metrics.ts'
import type { ResolvedPoolOptions } from './options.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PeerTags } from './tags.ts'
import type { Connection, Logger, PeerId } from '@libp2p/interface'
import type { ConnectionHealthSnapshot, PoolPeerStatus } from '@x/interface'

export class PoolState {
  private readonly components: ConnectionPoolComponents
  private readonly log: Logger
  private readonly peers = new PeerMap<PeerEntry>()
  /** Latest health snapshot per connection id, for managed peers only */
  private readonly health = new Map<string, ConnectionHealthSnapshot>()
  /** When each pooled connection last carried a stream */
  private readonly lastActive = new Map<string, number>()
  /** Pooled connections that carried at least one stream placed by the pool */
  private readonly used = new Set<string>()
  /** Connections the pool is closing itself */
  private readonly closing = new Set<string>()
  /** Last refusals (holds, streaks) and lowered targets of peers no longer managed, while remembered */
  private readonly refusals = new RefusalHolds()
  /**
   * Dials of the pool under way, each of which may add a connection:
   * top-ups of several peers run at once (holds that end in the same
   * maintenance tick, concurrent `dial()` calls), and `maxConnections`
   * bounds what they add up to
   */
  dialsInFlight = 0

  constructor (components: ConnectionPoolComponents, log: Logger) {
    this.components = components
    this.log = log
  }

  get size (): number {
    return this.peers.size
  }

  get (peer: PeerId): PeerEntry | undefined {
    return this.peers.get(peer)
  }

  /** Whether the entry is still the one the pool manages for its peer */
  isCurrent (entry: PeerEntry): boolean {
    return this.peers.get(entry.peer) === entry
  }

  add (entry: PeerEntry): void {
    this.peers.set(entry.peer, entry)
  }

  /**
   * Gives the entry the refusal its peer's previous entry left behind (and
   * its lowered target, if still held), so the hold and its streak survive
   * `release()`; `dial()` asks for it (`raiseTarget`), so a borrowed peer
   * keeps its own target of one connection
   */
  restoreRefusal (entry: PeerEntry, now = Date.now()): void {
    this.refusals.restore(entry, now)
  }

  /** Stops tracking the entry (if it is still the current one) */
  remove (entry: PeerEntry, now = Date.now()): void {
    if (this.isCurrent(entry)) {
      this.peers.delete(entry.peer)
      this.refusals.keep(entry, now)
    }
  }

  entries (): PeerEntry[] {
    return [...this.peers.values()]
  }

  /** Open connections to the peer, oldest first, so rotation order is stable */
  openConnections (peer: PeerId): Connection[] {
    return this.components.connectionManager.getConnections(peer)
      .filter(conn => conn.status === 'open')
      .sort((a, b) => a.timeline.open - b.timeline.open)
  }

  /** Open connections to every managed peer */
  totalConnections (): number {
    let total = 0

    for (const peer of this.peers.keys()) {
      total += this.openConnections(peer).length
    }

    return total
  }

  /**
   * The least recently used borrowed peer with no stream open and no dial
   * under way, which may be released to make room
   */
  leastRecentlyUsedIdle (): PeerEntry | undefined {
    let oldest: PeerEntry | undefined

    for (const entry of this.peers.values()) {
      if (entry.kept || entry.dialing != null || (oldest != null && entry.lastUsed >= oldest.lastUsed)) {
        continue
      }

      if (this.openConnections(entry.peer).every(conn => conn.streams.length === 0)) {
        oldest = entry
      }
    }

    return oldest
  }

  setStatus (entry: PeerEntry, status: PoolPeerStatus): void {
    if (entry.status === status || !this.isCurrent(entry)) {
      return
    }

    const previous = entry.status
    entry.status = status
    this.log('%p is %s (was %s)', entry.peer, status, previous)
    this.components.events.safeDispatchEvent(POOL_STATUS_EVENT, {
      detail: { peer: entry.peer, status, previous, connections: this.openConnections(entry.peer).length }
    })
  }

  /**
   * The status the open connections say: `connected` with one, else
   * `connecting` while a dial is under way, else `disconnected` (a peer
   * the pool gave up on stays `failed` until it connects again)
   */
  refreshStatus (entry: PeerEntry): void {
    if (this.openConnections(entry.peer).length > 0) {
      this.setStatus(entry, 'connected')
    } else if (entry.dialing != null) {
      this.setStatus(entry, 'connecting')
    } else if (entry.status !== 'failed') {
      this.setStatus(entry, 'disconnected')
    }
  }

  noteActive (connectionId: string, now: number): void {
    this.lastActive.set(connectionId, now)
  }

  lastActiveAt (connectionId: string): number | undefined {
    return this.lastActive.get(connectionId)
  }

  markUsed (connectionId: string): void {
    this.used.add(connectionId)
  }

  markClosing (connectionId: string): void {
    this.closing.add(connectionId)
  }

  healthOf (connectionId: string): ConnectionHealthSnapshot | undefined {
    return this.health.get(connectionId)
  }

  setHealth (snapshot: ConnectionHealthSnapshot): void {
    if (snapshot.state === 'closed') {
      this.health.delete(snapshot.connectionId)
    } else {
      this.health.set(snapshot.connectionId, snapshot)
    }
  }

  /** Drops what is known about a closed connection and says how it ended */
  connectionGone (connectionId: string): { closedByUs: boolean, carriedStreams: boolean } {
    const closedByUs = this.closing.delete(connectionId)
    const carriedStreams = this.used.delete(connectionId)
    this.lastActive.delete(connectionId)
    this.health.delete(connectionId)

    return { closedByUs, carriedStreams }
  }

  /** Estimated bytes of the entries (with their addresses and spellings), connection records and refusal holds */
  bookkeepingBytes (): number {
    let tracked = 0
    let addresses = 0

    for (const entry of this.peers.values()) {
      tracked += entry.opened.size
      addresses += entry.addrs.length * ADDRESS_BYTES + entry.spellings.size * SPELLING_BYTES
    }

    return this.peers.size * PEER_ENTRY_BYTES + addresses +
      this.refusals.size * REFUSAL_HOLD_BYTES +
      (tracked + this.lastActive.size + this.health.size + this.used.size) * CONNECTION_ENTRY_BYTES
  }

  clear (): void {
    this.peers.clear()
    this.health.clear()
    this.lastActive.clear()
    this.used.clear()
    this.closing.clear()
    this.refusals.clear()
  }
}

/**
 * The narrow view of the pool that the dialer and the stream opener work
 * with: its components, resolved options, log, counters, state and tags.
 */
export interface PoolContext {
  readonly components: ConnectionPoolComponents
  readonly options: ResolvedPoolOptions
  readonly log: Logger
  readonly metrics: PoolMetricsRecorder
  readonly state: PoolState
  readonly tags: PeerTags
  isStarted(): boolean
}
