/**
 * The connection pool service: lifecycle, public API, event handling and
 * maintenance. Dialling lives in `dialer.ts`, stream placement and failover
 * in `stream-opener.ts`.
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { CONNECTION_POOL_CAPABILITY, POOL_STATUS_EVENT } from '@x/interface'
import { REFUSAL_WINDOW } from './constants.ts'
import { Dialer } from './dialer.ts'
import { PoolMetricsRecorder } from './metrics.ts'
import { resolveOptions } from './options.ts'
import { CONNECTION_ENTRY_BYTES, PEER_ENTRY_BYTES } from './peer-entry.ts'
import { StreamOpener } from './stream-opener.ts'
import type { ConnectionPool, ConnectionPoolComponents, ConnectionPoolInit, PoolMetrics, PoolNewStreamOptions } from './index.ts'
import type { ResolvedPoolOptions } from './options.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { AbortOptions, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionHealthSnapshot, PoolPeerStatus } from '@x/interface'

export class PoolService implements ConnectionPool, Startable {
  public readonly [Symbol.toStringTag] = '@x/connection-pool'
  public readonly [serviceCapabilities]: string[] = [CONNECTION_POOL_CAPABILITY]
  public readonly [serviceDependencies]: string[] = []

  readonly components: ConnectionPoolComponents
  readonly options: ResolvedPoolOptions
  readonly log: Logger
  readonly metrics = new PoolMetricsRecorder()
  readonly peers = new PeerMap<PeerEntry>()
  /** Latest health snapshot per connection id, for pooled peers only */
  readonly health = new Map<string, ConnectionHealthSnapshot>()
  /** When each pooled connection last carried a stream */
  readonly lastActive = new Map<string, number>()
  /** Pooled connections that carried at least one stream placed by the pool */
  readonly used = new Set<string>()
  /** Connections the pool is closing itself */
  readonly closing = new Set<string>()
  readonly dialer: Dialer
  private readonly opener: StreamOpener
  private started = false
  private shutdown = new AbortController()
  private maintenance?: ReturnType<typeof setInterval>

  constructor (components: ConnectionPoolComponents, init: ConnectionPoolInit = {}) {
    this.components = components
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('x:connection-pool')
    this.dialer = new Dialer(this)
    this.opener = new StreamOpener(this)
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onConnectionClose = this.onConnectionClose.bind(this)
    this.onHealth = this.onHealth.bind(this)
    this.metrics.register(components.metrics, () => this.getMetrics())
  }

  isStarted (): boolean {
    return this.started
  }

  get signal (): AbortSignal {
    return this.shutdown.signal
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.shutdown = new AbortController()
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('connection:close', this.onConnectionClose)
    this.components.events.addEventListener('connection:health', this.onHealth)
    this.maintenance = setInterval(() => { this.maintain() }, this.options.maintenanceInterval)
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.shutdown.abort()
    clearInterval(this.maintenance)
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('connection:close', this.onConnectionClose)
    this.components.events.removeEventListener('connection:health', this.onHealth)

    await Promise.all([...this.peers.values()].map(async entry => this.forget(entry)))
    this.health.clear()
    this.lastActive.clear()
    this.used.clear()
    this.closing.clear()
  }

  async dial (peer: PeerId, options: AbortOptions = {}): Promise<Connection[]> {
    const entry = this.dialer.manage(peer)
    entry.target = this.options.maxConnectionsPerPeer
    await this.dialer.topUp(entry, options)

    return this.getConnections(peer)
  }

  async newStream (peer: PeerId, protocols: string | string[], options: PoolNewStreamOptions = {}): Promise<Stream> {
    return this.opener.newStream(peer, Array.isArray(protocols) ? protocols : [protocols], options)
  }

  getConnections (peer?: PeerId): Connection[] {
    if (peer != null) {
      return this.peers.has(peer) ? this.openConnections(peer) : []
    }

    return [...this.peers.keys()].flatMap(p => this.openConnections(p))
  }

  getConnectionsMap (): PeerMap<Connection[]> {
    const map = new PeerMap<Connection[]>()

    for (const peer of this.peers.keys()) {
      map.set(peer, this.openConnections(peer))
    }

    return map
  }

  getConnection (peer: PeerId): Connection | undefined {
    return this.opener.peek(peer)
  }

  getStatus (peer: PeerId): PoolPeerStatus | undefined {
    return this.peers.get(peer)?.status
  }

  getMetrics (): PoolMetrics {
    const connectionsPerPeer: Record<string, number> = {}
    let connections = 0
    let tracked = 0

    for (const [peer, entry] of this.peers.entries()) {
      const open = this.openConnections(peer).length
      connectionsPerPeer[peer.toString()] = open
      connections += open
      tracked += entry.opened.size
    }

    const now = Date.now()

    return {
      peers: this.peers.size,
      connections,
      connectionsPerPeer,
      streamsOpened: this.metrics.streamsOpened,
      streamsPerSecond: this.metrics.streamsPerSecond(now),
      streamFailures: this.metrics.streamFailures,
      failovers: this.metrics.failovers,
      dialAttempts: this.metrics.dialAttempts,
      dialSuccesses: this.metrics.dialSuccesses,
      dialFailures: this.metrics.dialFailures,
      dialRetries: this.metrics.dialRetries,
      dialRefusals: this.metrics.dialRefusals,
      streamOpenTime: this.metrics.streamOpenTime(),
      bookkeepingBytes: this.metrics.bytes +
        this.peers.size * PEER_ENTRY_BYTES +
        (tracked + this.lastActive.size + this.health.size + this.used.size) * CONNECTION_ENTRY_BYTES
    }
  }

  async release (peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const entry = this.peers.get(peer)

    if (entry != null) {
      await this.forget(entry, options)
    }
  }

  /** Open connections to the peer, oldest first, so rotation order is stable */
  openConnections (peer: PeerId): Connection[] {
    return this.components.connectionManager.getConnections(peer)
      .filter(conn => conn.status === 'open')
      .sort((a, b) => a.timeline.open - b.timeline.open)
  }

  /** Open connections to every pooled peer */
  totalConnections (): number {
    let total = 0

    for (const peer of this.peers.keys()) {
      total += this.openConnections(peer).length
    }

    return total
  }

  setStatus (entry: PeerEntry, status: PoolPeerStatus): void {
    if (entry.status === status) {
      return
    }

    const previous = entry.status
    entry.status = status
    this.log('%p is %s (was %s)', entry.peer, status, previous)
    this.components.events.safeDispatchEvent(POOL_STATUS_EVENT, {
      detail: { peer: entry.peer, status, previous, connections: this.openConnections(entry.peer).length }
    })
  }

  /** Stops managing a peer: closes what the pool opened, removes the tag */
  private async forget (entry: PeerEntry, options: AbortOptions = {}): Promise<void> {
    clearTimeout(entry.redialTimer)
    this.peers.delete(entry.peer)

    const closing = this.components.connectionManager.getConnections(entry.peer)
      .filter(conn => entry.opened.has(conn.id))

    await Promise.all(closing.map(async conn => {
      this.closing.add(conn.id)
      this.lastActive.delete(conn.id)
      this.health.delete(conn.id)
      await conn.close(options).catch(err => { conn.abort(err) })
    }))

    await this.dialer.untag(entry.peer)
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const entry = this.peers.get(evt.detail.remotePeer)

    if (entry != null) {
      this.lastActive.set(evt.detail.id, Date.now())

      if (entry.dialing == null) {
        this.setStatus(entry, 'connected')
      }
    }
  }

  private onConnectionClose (evt: CustomEvent<Connection>): void {
    const conn = evt.detail
    const closedByUs = this.closing.delete(conn.id)
    const carriedStreams = this.used.delete(conn.id)
    this.lastActive.delete(conn.id)
    this.health.delete(conn.id)
    const entry = this.peers.get(conn.remotePeer)

    if (entry == null) {
      return
    }

    const openedByUs = entry.opened.delete(conn.id)
    const open = this.openConnections(entry.peer).length
    const lived = Date.now() - conn.timeline.open

    if (openedByUs && !closedByUs && !carriedStreams && open > 0 && lived < REFUSAL_WINDOW) {
      this.metrics.dialRefusals++
      entry.target = Math.max(open, this.options.minConnectionsPerPeer)
      this.log('%p closed new connection %s after %dms: a refusal, keeping %d', entry.peer, conn.id, lived, entry.target)
      return
    }

    if (open === 0 && entry.dialing == null) {
      this.setStatus(entry, 'disconnected')
    }

    if (this.started && open < entry.target) {
      this.dialer.scheduleRedial(entry)
    }
  }

  private onHealth (evt: CustomEvent<ConnectionHealthSnapshot>): void {
    const snapshot = evt.detail
    const entry = this.peers.get(snapshot.peer)

    if (entry == null) {
      return
    }

    entry.adaptiveTimeout = snapshot.adaptiveTimeout

    if (snapshot.state === 'closed') {
      this.health.delete(snapshot.connectionId)
    } else {
      this.health.set(snapshot.connectionId, snapshot)
    }
  }

  /** Idle expiry of surplus connections, and the per-peer minimum */
  maintain (now = Date.now()): void {
    for (const [peer, entry] of this.peers.entries()) {
      const open = this.openConnections(peer)
      let remaining = open.length

      for (const conn of open) {
        if (conn.streams.length > 0) {
          this.lastActive.set(conn.id, now)
          continue
        }

        const idleFor = now - (this.lastActive.get(conn.id) ?? now)

        if (remaining > this.options.minConnectionsPerPeer && entry.opened.has(conn.id) && idleFor >= this.options.idleTimeout) {
          remaining--
          entry.target = Math.max(this.options.minConnectionsPerPeer, entry.target - 1)
          this.log('closing %s to %p, idle for %dms', conn.id, peer, idleFor)
          this.closing.add(conn.id)
          conn.close().catch(err => { conn.abort(err) })
        }
      }

      if (remaining < this.options.minConnectionsPerPeer && entry.status !== 'failed') {
        this.dialer.scheduleRedial(entry)
      }
    }
  }
}
