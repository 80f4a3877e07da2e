/**
 * The service: wires the trackers to the event bus, the address manager and
 * the discovery modules, and exposes the view and `dialPeer`.
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { isMultiaddr } from '@multiformats/multiaddr'
import { CONNECTION_ESTABLISHED_EVENT, CONNECTION_HEALTH_EVENT, DIAL_FAILED_EVENT, HOLE_PUNCH_EVENT, NAT_STATUS_EVENT, PEER_DISCOVERED_EVENT, UNIVERSAL_CONNECTIVITY_CAPABILITY } from '@x/interface'
import { isRelayed } from './addresses.ts'
import { ConnectionTracker } from './connection-tracker.ts'
import * as c from './constants.ts'
import { DCUtRTracker } from './dcutr-tracker.ts'
import { DiscoveryTracker, findDiscoverySources, isPeerInfo } from './discovery-tracker.ts'
import { InvalidConnectivityOptionError, NoDialableAddressError, NotStartedError } from './errors.ts'
import { FallbackDialer } from './fallback-dialer.ts'
import { HealthScores } from './health-scores.ts'
import { METRICS_PREFIX_PATTERN, registerMetrics } from './metrics.ts'
import { NatStatusTracker } from './nat-status.ts'
import { wholeNumber } from './options.ts'
import type { DiscoveredPeer, DiscoverySource } from './discovery-tracker.ts'
import type { DialPeerOptions, DialResult } from './fallback-dialer.ts'
import type { UniversalConnectivity as UniversalConnectivityInterface, UniversalConnectivityComponents, UniversalConnectivityInit } from './index.ts'
import type { ConnectivityMetrics } from './metrics.ts'
import type { Connection, IdentifyResult, Logger, PeerId, PeerInfo, Startable, StreamHandler, StreamHandlerRecord } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionHealthSnapshot, ConnectionPath, DiscoveryMechanism, NatStatus } from '@x/interface'

export class UniversalConnectivity implements UniversalConnectivityInterface, Startable {
  readonly [Symbol.toStringTag] = '@x/universal-connectivity'
  readonly [serviceCapabilities]: string[] = [UNIVERSAL_CONNECTIVITY_CAPABILITY]
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  private readonly components: UniversalConnectivityComponents
  private readonly init: UniversalConnectivityInit
  private readonly log: Logger
  private readonly discovery: DiscoveryTracker
  private readonly connections = new ConnectionTracker()
  private readonly dcutr: DCUtRTracker
  private readonly nat: NatStatusTracker
  private readonly health = new HealthScores(c.MAX_HEALTH_PEERS)
  private readonly dialer: FallbackDialer
  private readonly checkInterval: number
  private readonly now = (): number => Date.now()
  private sources: DiscoverySource[] = []
  private readonly sourceListeners = new Map<EventTarget, (evt: Event) => void>()
  private natTimer?: ReturnType<typeof setInterval>
  private started = false
  /** Counts start() calls: an afterStart() that a stop() overtook leaves no timer behind */
  private runs = 0
  private weRunDcutr = true
  /** The DCUtR handler we wrapped (to see exchanges the peer opens), put back on stop */
  private wrapped?: { original: StreamHandlerRecord, wrapper: StreamHandler }
  private discoveryEvents = 0
  private readonly dials = { total: 0, direct: 0, relay: 0, reversal: 0, holePunch: 0, failed: 0 }
  private lastUpdated: number

  constructor (components: UniversalConnectivityComponents, init: UniversalConnectivityInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('x:universal-connectivity')

    const positive = (name: keyof UniversalConnectivityInit, value: number, allowZero = false): number => wholeNumber(String(name), value, allowZero)

    const directDialTimeout = positive('directDialTimeout', init.directDialTimeout ?? c.DEFAULT_DIRECT_DIAL_TIMEOUT)
    const relayDialTimeout = positive('relayDialTimeout', init.relayDialTimeout ?? c.DEFAULT_RELAY_DIAL_TIMEOUT)
    const upgradeTimeout = positive('upgradeTimeout', init.upgradeTimeout ?? c.DEFAULT_UPGRADE_TIMEOUT, true)
    const window = positive('holePunchWindow', init.holePunchWindow ?? c.DEFAULT_HOLE_PUNCH_WINDOW)
    const maxPending = positive('maxPendingUpgrades', init.maxPendingUpgrades ?? c.DEFAULT_MAX_PENDING_UPGRADES)
    const maxPeers = positive('maxPeers', init.maxPeers ?? c.DEFAULT_MAX_PEERS)
    const metricsPrefix = init.metricsPrefix ?? c.DEFAULT_METRICS_PREFIX

    if (typeof metricsPrefix !== 'string' || !METRICS_PREFIX_PATTERN.test(metricsPrefix)) {
      throw new InvalidConnectivityOptionError(`metricsPrefix must be a valid Prometheus metric name prefix, got ${String(metricsPrefix)}`)
    }
    const maxRelayAttempts = positive('maxRelayAttempts', init.maxRelayAttempts ?? c.DEFAULT_MAX_RELAY_ATTEMPTS)
    this.checkInterval = positive('natCheckInterval', init.natCheckInterval ?? c.DEFAULT_NAT_CHECK_INTERVAL)

    this.lastUpdated = this.now()
    this.discovery = new DiscoveryTracker(maxPeers, this.now)
    this.dcutr = new DCUtRTracker({
      window,
      exchangeGrace: c.DCUTR_EXCHANGE_GRACE,
      maxPending,
      maxHistory: c.DEFAULT_MAX_HOLE_PUNCH_HISTORY,
      pollInterval: c.DCUTR_POLL_INTERVAL,
      now: this.now,
      onOutcome: (outcome) => {
        this.touch()
        this.log('hole punch to %p %s after %d ms', outcome.peer, outcome.success ? 'succeeded' : 'failed', outcome.duration)
        this.components.events.safeDispatchEvent(HOLE_PUNCH_EVENT, { detail: outcome })
      }
    })
    this.nat = new NatStatusTracker({
      addressManager: components.addressManager,
      now: this.now,
      onChange: (change) => {
        this.touch()
        this.log('NAT status %s -> %s: %s', change.previous, change.status, change.reason)
        this.components.events.safeDispatchEvent(NAT_STATUS_EVENT, { detail: change })
      }
    })
    this.dialer = new FallbackDialer({
      connectionManager: components.connectionManager,
      peerStore: components.peerStore,
      dcutr: this.dcutr,
      scoreOf: (relay) => this.health.scoreOf(relay),
      pathOf: (conn) => this.connections.pathOf(conn),
      discoveredAddrs: (peer) => this.discovery.get(peer)?.multiaddrs ?? [],
      directDialTimeout,
      relayDialTimeout,
      upgradeTimeout,
      maxRelayAttempts,
      now: this.now
    })

    if (components.metrics != null) {
      registerMetrics(components.metrics, metricsPrefix, () => this.getMetrics())
    }
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    const { events } = this.components
    events.addEventListener('connection:open', this.onConnectionOpen)
    events.addEventListener('connection:close', this.onConnectionClose)
    events.addEventListener('peer:identify', this.onIdentify)
    events.addEventListener('peer:discovery', this.onPeerDiscovery)
    events.addEventListener('self:peer:update', this.onSelfUpdate)
    events.addEventListener(CONNECTION_HEALTH_EVENT, this.onHealth)
    this.started = true
    this.runs++
  }

  async afterStart (): Promise<void> {
    // every component exists and has started: find the discovery modules
    const registry = (this.components as any).components
    this.sources = findDiscoverySources(registry != null && typeof registry === 'object' ? registry : {}, this.init.mechanisms ?? {})

    for (const source of this.sources) {
      const listener = (evt: Event): void => { this.onModulePeer(source.mechanism, (evt as CustomEvent).detail) }
      source.target.addEventListener('peer', listener)
      this.sourceListeners.set(source.target, listener)
      this.log('attributing peers from %s to %s', source.name, source.mechanism)
    }

    const protocols = this.components.registrar?.getProtocols() ?? []
    this.weRunDcutr = protocols.includes(c.DCUTR_PROTOCOL)

    if (this.weRunDcutr) {
      const run = this.runs
      await this.watchDcutrHandler()

      if (!this.started || run !== this.runs) {
        // stopped (and maybe started again) while the wrapper was registered
        return
      }
    }

    this.nat.evaluate()
    this.natTimer = setInterval(() => { this.nat.evaluate() }, this.checkInterval)
    this.natTimer.unref?.()
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    const { events } = this.components
    events.removeEventListener('connection:open', this.onConnectionOpen)
    events.removeEventListener('connection:close', this.onConnectionClose)
    events.removeEventListener('peer:identify', this.onIdentify)
    events.removeEventListener('peer:discovery', this.onPeerDiscovery)
    events.removeEventListener('self:peer:update', this.onSelfUpdate)
    events.removeEventListener(CONNECTION_HEALTH_EVENT, this.onHealth)

    for (const [target, listener] of this.sourceListeners) {
      target.removeEventListener('peer', listener)
    }

    this.sourceListeners.clear()
    clearInterval(this.natTimer)
    this.dcutr.stop()
    this.started = false
    await this.unwatchDcutrHandler()
  }

  /**
   * Wraps the DCUtR service's handler (`@libp2p/dcutr`, `@x/hole-punching`)
   * so that every exchange the peer opens is seen, however short-lived its
   * stream (libp2p 3.3's stream middleware cannot be used: each inbound
   * stream appends the handler to the registered middleware list)
   */
  private async watchDcutrHandler (): Promise<void> {
    const registrar = this.components.registrar

    if (registrar?.getHandler == null || registrar.handle == null) {
      return
    }

    let original: StreamHandlerRecord

    try {
      original = registrar.getHandler(c.DCUTR_PROTOCOL)
    } catch {
      return
    }

    const wrapper: StreamHandler = (stream, connection) => {
      this.dcutr.onExchange(connection)
      return original.handler(stream, connection)
    }

    // remembered before the registration settles: libp2p's registrar sets the
    // handler at once and then writes the peer store, so a stop() meanwhile,
    // or a failed write, must still find the wrapper to put the original back
    this.wrapped = { original, wrapper }

    try {
      await registrar.handle(c.DCUTR_PROTOCOL, wrapper, { ...original.options, force: true })
    } catch (err) {
      // counted by sampling alone if the wrapper is not in place: exchanges the peer opens may be missed
      this.log.error('could not watch the DCUtR handler - %e', err)
    }
  }

  /** Puts the DCUtR handler back, unless its service removed or replaced it meanwhile */
  private async unwatchDcutrHandler (): Promise<void> {
    const wrapped = this.wrapped
    const registrar = this.components.registrar
    this.wrapped = undefined

    if (wrapped == null || registrar?.getHandler == null || registrar.handle == null) {
      return
    }

    try {
      if (registrar.getHandler(c.DCUTR_PROTOCOL).handler !== wrapped.wrapper) {
        return
      }

      await registrar.handle(c.DCUTR_PROTOCOL, wrapped.original.handler, { ...wrapped.original.options, force: true })
    } catch (err) {
      this.log('DCUtR handler not put back - %e', err)
    }
  }

  getNatStatus (): NatStatus {
    return this.nat.getStatus()
  }

  getDiscoveredPeers (): DiscoveredPeer[] {
    return this.discovery.getAll()
  }

  getDiscoverySources (): Array<{ name: string, mechanism: DiscoveryMechanism }> {
    return this.sources.map(({ name, mechanism }) => ({ name, mechanism }))
  }

  getMetrics (): ConnectivityMetrics {
    const nat = this.nat.getEvaluation()

    return {
      discovery: { peers: this.discovery.size, byMechanism: this.discovery.countByMechanism(), events: this.discoveryEvents },
      connections: this.connections.getStats(this.components.connectionManager.getConnections()),
      nat: { status: this.nat.getStatus(), reason: nat.reason, since: nat.since, verifiedPublicAddrs: nat.verifiedPublicAddrs },
      relay: { reservations: nat.reservations },
      holePunch: this.dcutr.getStats(),
      dials: { ...this.dials },
      last_updated: this.lastUpdated
    }
  }

  async dialPeer (peer: PeerId | Multiaddr | Multiaddr[], options: DialPeerOptions = {}): Promise<Connection> {
    const result = await this.dialPeerWithResult(peer, options)
    return result.connection
  }

  async dialPeerWithResult (peer: PeerId | Multiaddr | Multiaddr[], options: DialPeerOptions = {}): Promise<DialResult> {
    if (!this.started) {
      throw new NotStartedError('universal connectivity is not started')
    }

    const { peerId, addrs } = resolveTarget(peer, options.addrs)

    for (const name of ['directDialTimeout', 'relayDialTimeout', 'upgradeTimeout'] as const) {
      if (options[name] !== undefined) {
        wholeNumber(name, options[name], name === 'upgradeTimeout')
      }
    }

    this.dials.total++
    this.touch()

    try {
      const result = await this.dialer.dial(peerId, { ...options, addrs })
      this.dials[result.path === 'hole-punch' ? 'holePunch' : result.path]++
      this.log('dialled %p via %s', peerId, result.path)
      return result
    } catch (err: any) {
      this.dials.failed++
      this.log.error('dial to %p failed - %e', peerId, err)
      this.components.events.safeDispatchEvent(DIAL_FAILED_EVENT, { detail: { peer: peerId, error: err.name, message: err.message } })
      throw err
    }
  }

  private touch (): void {
    this.lastUpdated = this.now()
  }

  private recordDiscovery (peer: PeerId, mechanism: DiscoveryMechanism, multiaddrs: Multiaddr[]): void {
    if (peer.equals(this.components.peerId)) {
      return
    }

    this.discoveryEvents++
    this.touch()
    const result = this.discovery.record(peer, mechanism, multiaddrs)

    if (!result.newMechanism) {
      return
    }

    const detail = { peer, mechanism, multiaddrs, firstSeen: result.firstSeen }
    this.components.events.safeDispatchEvent(PEER_DISCOVERED_EVENT, { detail })

    try {
      this.init.onPeerDiscovered?.(detail)
    } catch (err) {
      this.log.error('onPeerDiscovered threw - %e', err)
    }
  }

  private onModulePeer (mechanism: DiscoveryMechanism, info: PeerInfo): void {
    if (isPeerInfo(info)) {
      this.recordDiscovery(info.id, mechanism, info.multiaddrs ?? [])
    }
  }

  private readonly onPeerDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    // modules' own `peer` events were heard first (synchronously); anything
    // else that added a new peer to the peer store is `other`
    if (!this.discovery.has(evt.detail.id)) {
      this.recordDiscovery(evt.detail.id, 'other', evt.detail.multiaddrs)
    }
  }

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    let path: ConnectionPath = 'relay'

    if (isRelayed(conn)) {
      if (this.weRunDcutr) {
        const hasDirect = this.components.connectionManager.getConnections(conn.remotePeer).some(other => other.status === 'open' && !isRelayed(other))
        this.dcutr.onRelayedOpen(conn, hasDirect)
      }
    } else {
      path = this.dcutr.onDirectOpen(conn)
    }

    this.connections.onOpen(conn, path)
    this.touch()
    const detail = { peer: conn.remotePeer, connectionId: conn.id, path, remoteAddr: conn.remoteAddr }
    this.components.events.safeDispatchEvent(CONNECTION_ESTABLISHED_EVENT, { detail })

    try {
      this.init.onConnectionEstablished?.(detail)
    } catch (err) {
      this.log.error('onConnectionEstablished threw - %e', err)
    }
  }

  private readonly onConnectionClose = (evt: CustomEvent<Connection>): void => {
    this.connections.onClose()
    this.touch()

    if (isRelayed(evt.detail)) {
      this.dcutr.onRelayedClose(evt.detail)
    }
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = evt.detail

    if (this.dcutr.isPending(peerId) && !protocols.includes(c.DCUTR_PROTOCOL)) {
      this.log('%p does not speak DCUtR, not counting a hole punch attempt', peerId)
      this.dcutr.cancel(peerId)
    }
  }

  private readonly onHealth = (evt: CustomEvent<ConnectionHealthSnapshot>): void => {
    this.health.record(evt.detail)
  }

  private readonly onSelfUpdate = (): void => {
    this.nat.evaluate()
  }
}

/** The peer id and extra addresses of what `dialPeer` accepts: a PeerId, or multiaddrs ending in the same `/p2p/<peer id>` */
function resolveTarget (peer: PeerId | Multiaddr | Multiaddr[], extra?: Multiaddr[]): { peerId: PeerId, addrs?: Multiaddr[] } {
  if (extra !== undefined && (!Array.isArray(extra) || !extra.every(ma => isMultiaddr(ma)))) {
    throw new InvalidConnectivityOptionError('the addrs option of dialPeer must be a Multiaddr[]')
  }

  if (!Array.isArray(peer) && !isMultiaddr(peer)) {
    if (peer == null || typeof (peer as PeerId).toMultihash !== 'function') {
      throw new InvalidConnectivityOptionError('dialPeer needs a PeerId, a Multiaddr or a Multiaddr[]')
    }

    return { peerId: peer, addrs: extra }
  }

  const list = Array.isArray(peer) ? peer : [peer]
  const ids = new Set<string>()

  for (const ma of list) {
    if (!isMultiaddr(ma)) {
      throw new InvalidConnectivityOptionError('dialPeer needs a PeerId, a Multiaddr or a Multiaddr[]')
    }

    const id = ma.getComponents().findLast(comp => comp.name === 'p2p')?.value

    if (id == null) {
      throw new NoDialableAddressError(`${ma} has no /p2p/<peer id>`)
    }

    ids.add(id)
  }

  if (ids.size !== 1) {
    throw new InvalidConnectivityOptionError(`dialPeer needs multiaddrs of one peer, got ${ids.size === 0 ? 'none' : [...ids].join(', ')}`)
  }

  return { peerId: peerIdFromString([...ids][0]), addrs: [...list, ...(extra ?? [])] }
}
