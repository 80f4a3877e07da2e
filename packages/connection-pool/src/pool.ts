/**
 * The connection pool service: lifecycle, the public API and event
 * handling. Which peers are managed and for how long lives in
 * `peer-registry.ts`, dialling in `connection-dialer.ts`, stream placement
 * and failover in `stream-opener.ts`, the state they share in
 * `pool-state.ts`.
 */
import { AbortError, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { CONNECTION_POOL_CAPABILITY } from '@x/interface'
import { checkOptions, checkPeerId, checkProtocols } from './arguments.ts'
import { ConnectionDialer } from './connection-dialer.ts'
import { NoConnectionAvailableError, PoolNotStartedError } from './errors.ts'
import { checkHealthSnapshot } from './health-input.ts'
import { PoolMetricsRecorder } from './metrics.ts'
import { resolveOptions } from './options.ts'
import { toDialTarget } from './peer-address.ts'
import { PeerRegistry } from './peer-registry.ts'
import { PoolState } from './pool-state.ts'
import { StreamOpener } from './stream-opener.ts'
import { PeerTags } from './tags.ts'
import type { ConnectionPool, ConnectionPoolComponents, ConnectionPoolInit, PoolMetrics, PoolNewStreamOptions } from './index.ts'
import type { ResolvedPoolOptions } from './options.ts'
import type { DialTarget, PeerInput } from './peer-address.ts'
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
  private readonly registry: PeerRegistry
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
    this.registry = new PeerRegistry(context, this.dialer)
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

    const reason = new AbortError('The connection pool stopped')
    this.registry.stop(reason)
    await Promise.all(this.state.entries().map(async entry => this.registry.forget(entry, reason)))

    // started again while the connections closed: what the new run manages stays
    if (!this.started) {
      this.state.clear()
    }
  }

  async dial (peer: PeerInput, opts?: AbortOptions): Promise<Connection[]> {
    const target = toDialTarget(peer)
    const { options, done } = checkOptions<AbortOptions>(opts)

    try {
      return await this.dialTarget(target, options)
    } finally {
      done()
    }
  }

  private async dialTarget (target: DialTarget, options: AbortOptions): Promise<Connection[]> {
    this.assertStarted()
    options.signal?.throwIfAborted()

    const { entry, created } = await this.registry.acquire(target, true, options)

    // aborted while acquiring (after a learning dial brought the peer): the
    // peer is not kept; a connection this call learned it on stays borrowed
    // (idle expiry closes it)
    options.signal?.throwIfAborted()
    entry.kept = true
    this.dialer.raiseTarget(entry)

    try {
      await this.dialer.topUp(entry, options)
    } catch (err) {
      this.registry.dropIfAborted(entry, created, options)
      throw err
    }

    if (this.state.openConnections(entry.peer).length > 0) {
      await this.tags.tag(entry)
    }

    return this.getConnections(entry.peer)
  }

  async newStream (peer: PeerInput, protocols: string | string[], opts?: PoolNewStreamOptions): Promise<Stream> {
    const target = toDialTarget(peer)
    const wanted = checkProtocols(protocols)
    const { options, done } = checkOptions<PoolNewStreamOptions>(opts)

    try {
      return await this.streamTo(target, wanted, options)
    } finally {
      done()
    }
  }

  private async streamTo (target: DialTarget, wanted: string[], options: PoolNewStreamOptions): Promise<Stream> {
    this.assertStarted()
    options.signal?.throwIfAborted()

    const { entry, created } = await this.registry.acquire(target, false, options).catch(err => {
      // as when the dial to a known peer fails: no connection for the stream
      if (err?.name === 'PeerDialFailedError') {
        throw new NoConnectionAvailableError(`No connection to ${target.addrs.join(', ')} could open a stream for ${wanted.join(', ')}: ${err.message}`, { cause: err })
      }

      throw err
    })
    entry.lastUsed = Date.now()

    try {
      return await this.opener.newStream(entry, wanted, options)
    } catch (err) {
      this.registry.dropIfAborted(entry, created, options)
      throw err
    }
  }

  getConnections (peer?: PeerId): Connection[] {
    if (peer != null) {
      checkPeerId(peer)
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
    const entry = this.state.get(checkPeerId(peer))

    return entry == null ? undefined : this.opener.select(entry, this.opener.candidates(entry), [], false)
  }

  getStatus (peer: PeerId): PoolPeerStatus | undefined {
    return this.state.get(checkPeerId(peer))?.status
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
      invalidHealthEvents: this.metrics.invalidHealthEvents,
      streamOpenTime: this.metrics.streamOpenTime(),
      bookkeepingBytes: this.metrics.bytes + this.state.bookkeepingBytes()
    }
  }

  async release (peer: PeerId, opts?: AbortOptions): Promise<void> {
    const { options, done } = checkOptions<AbortOptions>(opts)

    try {
      const entry = this.state.get(checkPeerId(peer))

      if (entry != null) {
        await this.registry.forget(entry, new AbortError('The connection pool released the peer'), options)
      }
    } finally {
      done()
    }
  }

  private assertStarted (): void {
    if (!this.started) {
      throw new PoolNotStartedError('The connection pool is not started')
    }
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
    // anyone may dispatch this event: its figures are checked, not trusted
    const snapshot = checkHealthSnapshot(evt.detail)

    if (snapshot == null) {
      this.metrics.invalidHealthEvents++
      this.log('dropped an invalid connection:health event')
      return
    }

    const entry = this.state.get(snapshot.peer)

    if (entry == null) {
      return
    }

    // the last event of a connection: its record goes, its figures are not
    // used (no check that it was the peer's, as the connection is gone)
    if (snapshot.state === 'closed') {
      this.state.setHealth(snapshot)
      return
    }

    // figures are kept per connection id: one must be about a connection of the peer it names
    if (!this.state.openConnections(entry.peer).some(conn => conn.id === snapshot.connectionId)) {
      this.metrics.invalidHealthEvents++
      this.log('dropped a connection:health event for %s, not an open connection of %p', snapshot.connectionId, entry.peer)
      return
    }

    entry.adaptiveTimeout = snapshot.adaptiveTimeout
    entry.rttAverage = snapshot.rtt?.ewma ?? entry.rttAverage
    this.state.setHealth(snapshot)
  }

  /**
   * Idle expiry and the per-peer minimum, as the maintenance timer runs it
   *
   * @internal
   */
  maintain (now = Date.now()): void {
    this.registry.maintain(now)
  }
}
