/**
 * The connection pool service: lifecycle, the public API, which peers are
 * kept or borrowed (and which borrowed peer makes room at `maxPeers`),
 * event handling and maintenance. Dialling lives in `connection-dialer.ts`,
 * stream placement and failover in `stream-opener.ts`, the state they share
 * in `pool-state.ts`.
 */
import { AbortError, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { CODE_P2P } from '@multiformats/multiaddr'
import { CONNECTION_POOL_CAPABILITY } from '@x/interface'
import { ConnectionDialer } from './connection-dialer.ts'
import { PoolLimitReachedError, PoolNotStartedError } from './errors.ts'
import { PoolMetricsRecorder } from './metrics.ts'
import { resolveOptions } from './options.ts'
import { toDialTarget, withPeerId } from './peer-address.ts'
import { createPeerEntry } from './peer-entry.ts'
import { PoolState } from './pool-state.ts'
import { StreamOpener } from './stream-opener.ts'
import { PeerTags } from './tags.ts'
import { anySignal, timeout } from './time.ts'
import type { ConnectionPool, ConnectionPoolComponents, ConnectionPoolInit, PoolMetrics, PoolNewStreamOptions } from './index.ts'
import type { ResolvedPoolOptions } from './options.ts'
import type { DialTarget, PeerInput } from './peer-address.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PoolContext } from './pool-state.ts'
import type { AbortOptions, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionHealthSnapshot, PoolPeerStatus } from '@x/interface'

export class PoolService implements ConnectionPool, Startable {
  public readonly [Symbol.toStringTag] = '@x/connection-pool'
  public readonly [serviceCapabilities]: string[] = [CONNECTION_POOL_CAPABILITY]
  public readonly [serviceDependencies]: string[] = []

  private readonly components: ConnectionPoolComponents
  private readonly options: ResolvedPoolOptions
  private readonly log: Logger
  private readonly metrics: PoolMetricsRecorder
  private readonly state: PoolState
  private readonly tags: PeerTags
  private readonly dialer: ConnectionDialer
  private readonly opener: StreamOpener
  private started = false
  private maintenance?: ReturnType<typeof setInterval>

  constructor (components: ConnectionPoolComponents, init: ConnectionPoolInit = {}) {
    this.components = components
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('x:connection-pool')
    this.metrics = new PoolMetricsRecorder(this.options.metricsPrefix)
    this.state = new PoolState(components, this.log)
    this.tags = new PeerTags(components, this.log, this.options.tagName, this.options.tagValue)

    const context: PoolContext = {
      components,
      options: this.options,
      log: this.log,
      metrics: this.metrics,
      state: this.state,
      tags: this.tags,
      isStarted: () => this.started
    }
    this.dialer = new ConnectionDialer(context)
    this.opener = new StreamOpener(context, this.dialer)
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onConnectionClose = this.onConnectionClose.bind(this)
    this.onHealth = this.onHealth.bind(this)
    this.metrics.register(components.metrics, () => this.getMetrics())
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
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
    clearInterval(this.maintenance)
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('connection:close', this.onConnectionClose)
    this.components.events.removeEventListener('connection:health', this.onHealth)

    await Promise.all(this.state.entries().map(async entry => this.forget(entry, new AbortError('The connection pool stopped'))))
    this.state.clear()
  }

  async dial (peer: PeerInput, options: AbortOptions = {}): Promise<Connection[]> {
    const target = toDialTarget(peer)
    this.assertStarted()
    options.signal?.throwIfAborted()

    const { entry, created } = await this.acquire(target, true, options)
    entry.kept = true
    entry.target = this.options.maxConnectionsPerPeer

    try {
      await this.dialer.topUp(entry, options)
    } catch (err) {
      this.dropIfAborted(entry, created, options)
      throw err
    }

    if (this.state.openConnections(entry.peer).length > 0) {
      await this.tags.tag(entry)
    }

    return this.getConnections(entry.peer)
  }

  async newStream (peer: PeerInput, protocols: string | string[], options: PoolNewStreamOptions = {}): Promise<Stream> {
    const target = toDialTarget(peer)
    this.assertStarted()
    options.signal?.throwIfAborted()

    const { entry, created } = await this.acquire(target, false, options)
    entry.lastUsed = Date.now()

    try {
      return await this.opener.newStream(entry, Array.isArray(protocols) ? protocols : [protocols], options)
    } catch (err) {
      this.dropIfAborted(entry, created, options)
      throw err
    }
  }

  getConnections (peer?: PeerId): Connection[] {
    if (peer != null) {
      return this.state.get(peer) != null ? this.state.openConnections(peer) : []
    }

    return this.state.entries().flatMap(entry => this.state.openConnections(entry.peer))
  }

  getConnectionsMap (): PeerMap<Connection[]> {
    const map = new PeerMap<Connection[]>()

    for (const entry of this.state.entries()) {
      map.set(entry.peer, this.state.openConnections(entry.peer))
    }

    return map
  }

  getConnection (peer: PeerId): Connection | undefined {
    const entry = this.state.get(peer)

    return entry == null ? undefined : this.opener.select(entry, this.opener.candidates(entry), [], false)
  }

  getStatus (peer: PeerId): PoolPeerStatus | undefined {
    return this.state.get(peer)?.status
  }

  getMetrics (): PoolMetrics {
    const connectionsPerPeer: Record<string, number> = {}
    let connections = 0
    let kept = 0

    for (const entry of this.state.entries()) {
      const open = this.state.openConnections(entry.peer).length
      connectionsPerPeer[entry.peer.toString()] = open
      connections += open
      kept += entry.kept ? 1 : 0
    }

    const now = Date.now()

    return {
      peers: this.state.size,
      keptPeers: kept,
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
      limitedDials: this.metrics.limitedDials,
      evictions: this.metrics.evictions,
      streamOpenTime: this.metrics.streamOpenTime(),
      bookkeepingBytes: this.metrics.bytes + this.state.bookkeepingBytes()
    }
  }

  async release (peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const entry = this.state.get(peer)

    if (entry != null) {
      await this.forget(entry, new AbortError('The connection pool released the peer'), options)
    }
  }

  private assertStarted (): void {
    if (!this.started) {
      throw new PoolNotStartedError('The connection pool is not started')
    }
  }

  /**
   * The entry for the call's peer, created if new (making room at
   * `maxPeers` by releasing the least recently used idle borrowed peer). A
   * target without a peer id learns its peer from one connection to its
   * addresses (an open one to the same address, or a new dial).
   */
  private async acquire (target: DialTarget, keep: boolean, options: AbortOptions): Promise<{ entry: PeerEntry, created: boolean }> {
    let learned: Connection | undefined
    let peer = target.peer

    if (peer == null) {
      learned = await this.learnPeer(target, options)
      peer = learned.remotePeer
    }

    let entry = this.state.get(peer)
    const created = entry == null

    if (entry == null) {
      try {
        this.makeRoom(keep)
      } catch (err) {
        if (learned != null && this.learning.delete(learned.id)) {
          await learned.close().catch(err => { learned?.abort(err) })
        }

        throw err
      }

      entry = createPeerEntry(peer, Math.max(1, this.options.minConnectionsPerPeer), Date.now())
      this.state.add(entry)
    }

    if (target.addrs.length > 0) {
      entry.addrs = withPeerId(target.addrs, peer)
    }

    if (learned != null && !this.isKnownConnection(learned)) {
      this.dialer.adopt(entry, learned)
    }

    this.state.refreshStatus(entry)

    return { entry, created }
  }

  /** Connections the pool dialled to learn a peer, until its entry exists */
  private readonly learning = new Set<string>()

  private isKnownConnection (conn: Connection): boolean {
    return !this.learning.delete(conn.id)
  }

  /** One connection to addresses without a peer id, to learn who answers */
  private async learnPeer (target: DialTarget, options: AbortOptions): Promise<Connection> {
    const wanted = new Set(target.addrs.map(ma => ma.toString()))
    const existing = this.components.connectionManager.getConnections()
      .find(conn => conn.status === 'open' && wanted.has(conn.remoteAddr.decapsulateCode(CODE_P2P).toString()))

    if (existing != null) {
      return existing
    }

    const limit = timeout(this.options.dialTimeout)
    this.metrics.dialAttempts++

    try {
      const conn = await this.components.connectionManager.openConnection(target.addrs, { force: true, signal: anySignal(options.signal, limit.signal) })
      this.metrics.dialSuccesses++
      this.learning.add(conn.id)
      return conn
    } catch (err) {
      this.metrics.dialFailures++
      options.signal?.throwIfAborted()
      throw err
    } finally {
      limit.clear()
    }
  }

  /** At `maxPeers`, releases the least recently used idle borrowed peer, or throws */
  private makeRoom (keep: boolean): void {
    if (this.state.size < this.options.maxPeers) {
      return
    }

    const victim = this.state.leastRecentlyUsedIdle()

    if (victim == null) {
      throw new PoolLimitReachedError(`The pool manages ${this.state.size} peers already (maxPeers), all kept or busy`)
    }

    this.metrics.evictions++
    this.log('releasing %p, the least recently used idle borrowed peer, to make room%s', victim.peer, keep ? ' for a kept one' : '')
    void this.forget(victim, new AbortError('The connection pool released the peer to make room'))
  }

  /** An entry an aborted call created and that has nothing open goes again, as if never asked */
  private dropIfAborted (entry: PeerEntry, created: boolean, options: AbortOptions): void {
    if (created && options.signal?.aborted === true && entry.dialing == null && entry.opened.size === 0 && this.state.isCurrent(entry) && this.state.openConnections(entry.peer).length === 0) {
      clearTimeout(entry.redialTimer)
      this.state.remove(entry)
    }
  }

  /** Stops managing a peer: aborts its dials, closes what the pool opened, removes the tag */
  private async forget (entry: PeerEntry, reason: Error, options: AbortOptions = {}): Promise<void> {
    clearTimeout(entry.redialTimer)
    entry.redialTimer = undefined
    this.state.remove(entry)
    entry.controller.abort(reason)

    const closing = this.components.connectionManager.getConnections(entry.peer)
      .filter(conn => entry.opened.has(conn.id))

    await Promise.all(closing.map(async conn => {
      this.state.markClosing(conn.id)
      await conn.close(options).catch(err => { conn.abort(err) })
    }))

    await this.tags.untag(entry)
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const entry = this.state.get(evt.detail.remotePeer)

    if (entry != null) {
      this.state.noteActive(evt.detail.id, Date.now())
      this.state.refreshStatus(entry)
    }
  }

  private onConnectionClose (evt: CustomEvent<Connection>): void {
    this.dialer.connectionClosed(evt.detail)
  }

  private onHealth (evt: CustomEvent<ConnectionHealthSnapshot>): void {
    const snapshot = evt.detail
    const entry = this.state.get(snapshot.peer)

    if (entry == null) {
      return
    }

    entry.adaptiveTimeout = snapshot.adaptiveTimeout
    entry.srtt = snapshot.rtt?.ewma ?? entry.srtt
    this.state.setHealth(snapshot)
  }

  /**
   * Idle expiry (surplus connections of kept peers, whole borrowed peers)
   * and the per-peer minimum of kept peers. Runs every
   * `maintenanceInterval`.
   *
   * @internal
   */
  maintain (now = Date.now()): void {
    for (const entry of this.state.entries()) {
      const open = this.state.openConnections(entry.peer)

      if (open.some(conn => conn.streams.length > 0)) {
        entry.lastUsed = now
      }

      if (!entry.kept) {
        if (entry.dialing == null && now - entry.lastUsed >= this.options.idleTimeout) {
          this.log('releasing borrowed peer %p, idle for %dms', entry.peer, now - entry.lastUsed)
          void this.forget(entry, new AbortError('The connection pool released the idle peer'))
        }

        continue
      }

      let remaining = open.length

      for (const conn of open) {
        if (conn.streams.length > 0) {
          this.state.noteActive(conn.id, now)
          continue
        }

        const idleFor = now - (this.state.lastActiveAt(conn.id) ?? now)

        if (remaining > this.options.minConnectionsPerPeer && entry.opened.has(conn.id) && idleFor >= this.options.idleTimeout) {
          remaining--
          entry.target = Math.max(this.options.minConnectionsPerPeer, entry.target - 1)
          this.log('closing %s to %p, idle for %dms', conn.id, entry.peer, idleFor)
          this.state.markClosing(conn.id)
          conn.close().catch(err => { conn.abort(err) })
        }
      }

      if (remaining < this.options.minConnectionsPerPeer && entry.status !== 'failed') {
        this.dialer.scheduleRedial(entry)
      }
    }
  }
}
