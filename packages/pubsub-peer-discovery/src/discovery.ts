/**
 * The discovery module: receives announcements on its topics, validates
 * them and emits `peer`; publishes our own when `announcement-clock.ts`
 * says, with our signed record and, for joining peers, others' records
 * (`peer-exchange.ts`).
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerDiscoverySymbol, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { LIBP2P_CAPABILITIES, PUBSUB_PEER_DISCOVERY_CAPABILITY } from '@x/interface'
import { TypedEventEmitter } from 'main-event'
import { AnnouncementClock } from './announcement-clock.ts'
import * as C from './constants.ts'
import { DiscoveryMetricsRecorder } from './metrics.ts'
import { resolveOptions } from './options.ts'
import { Peer } from './pb/peer.ts'
import { PeerCache } from './peer-cache.ts'
import { PeerExchange } from './peer-exchange.ts'
import { findPubSub, publishSafely } from './pubsub.ts'
import { AuthorRateLimiter } from './rate-limit.ts'
import { peerTtl } from './schedule.ts'
import { validateAnnouncement } from './validate.ts'
import type { PubSubPeerDiscoveryComponents, PubSubPeerDiscoveryInit } from './index.ts'
import type { DiscoveryMetrics } from './metrics.ts'
import type { DiscoveryOptions } from './options.ts'
import type { CacheVerdict } from './peer-cache.ts'
import type { PubSubLike, PubSubMessage } from './pubsub.ts'
import type { Announcement } from './validate.ts'
import type { Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export class PubSubPeerDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  public readonly [peerDiscoverySymbol] = this
  public readonly [Symbol.toStringTag] = '@x/pubsub-peer-discovery'
  public readonly [serviceCapabilities]: string[] = [LIBP2P_CAPABILITIES.peerDiscovery, PUBSUB_PEER_DISCOVERY_CAPABILITY]
  public readonly [serviceDependencies]: string[] = [LIBP2P_CAPABILITIES.pubsub]

  readonly topics: string[]
  readonly listenOnly: boolean
  private readonly components: PubSubPeerDiscoveryComponents
  private readonly options: DiscoveryOptions
  private readonly log: Logger
  private readonly cache: PeerCache
  private readonly rateLimiter: AuthorRateLimiter
  private readonly exchange: PeerExchange
  private readonly clock: AnnouncementClock
  private readonly metrics = new DiscoveryMetricsRecorder()
  private pubsub?: PubSubLike
  private started = false
  private startedAt = 0
  /** `ttl()` of the current millisecond: it scans the cache */
  private ttlMemo = { at: -1, ttl: 0 }

  constructor (components: PubSubPeerDiscoveryComponents, init: PubSubPeerDiscoveryInit = {}) {
    super()
    this.components = components
    this.options = resolveOptions(init)
    this.topics = this.options.topics
    this.listenOnly = this.options.listenOnly
    this.log = components.logger.forComponent('x:pubsub-peer-discovery')
    this.cache = new PeerCache(this.options.maxPeers)
    this.rateLimiter = new AuthorRateLimiter(this.options.rateLimit, this.options.schedule.interval, C.MAX_TRACKED_AUTHORS)
    this.exchange = new PeerExchange(components, {
      maxExchangedPeers: this.options.maxExchangedPeers,
      maxAddresses: this.options.limits.maxAddresses,
      maxPeers: this.options.maxPeers,
      joinWindow: C.YOUNG_PEER_INTERVALS * this.options.schedule.interval
    }, {
      knows: (peer) => this.cache.knows(peer, Date.now(), this.ttl()),
      joining: () => Date.now() - this.startedAt < C.MAX_WARMUP_INTERVALS * this.options.schedule.interval,
      learned: (peer, multiaddrs) => { this.learned(peer, multiaddrs) },
      drop: (reason) => { this.metrics.drop(reason) },
      relayedUs: () => {
        if (this.clock.relayedUs()) {
          this.log('a relay told the joining peers about us: no answer')
        }
      },
      isStarted: () => this.started
    }, this.log)
    this.clock = new AnnouncementClock({
      schedule: this.options.schedule,
      announceDebounce: this.options.announceDebounce,
      announce: (reason) => { this.announce(reason) },
      nodes: () => this.nodes(),
      afterPeriodic: () => { this.cache.prune(Date.now(), this.ttl()) }
    })
    this.onMessage = this.onMessage.bind(this)
    this.onSubscriptionChange = this.onSubscriptionChange.bind(this)
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
    this.metrics.register(components.metrics, () => this.livePeers())
  }

  isStarted (): boolean {
    return this.started
  }

  start (): void {}

  /** Subscribes once every service has started (gossipsub included) */
  afterStart (): void {
    if (this.started) {
      return
    }

    const pubsub = findPubSub(this.components, this.options.pubsubServiceName)
    this.pubsub = pubsub
    this.started = true
    this.startedAt = Date.now()

    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    for (const topic of this.topics) {
      pubsub.subscribe(topic)
    }

    if (!this.listenOnly) {
      this.components.events?.addEventListener('self:peer:update', this.onSelfUpdate)
      this.clock.start()
    }
  }

  beforeStop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.clock.stop()
    this.exchange.reset()
    this.components.events?.removeEventListener('self:peer:update', this.onSelfUpdate)

    const pubsub = this.pubsub
    pubsub?.removeEventListener('message', this.onMessage)
    pubsub?.removeEventListener('subscription-change', this.onSubscriptionChange)
    for (const topic of this.topics) {
      try {
        pubsub?.unsubscribe(topic)
      } catch (err) {
        this.log.error('could not unsubscribe from %s - %e', topic, err)
      }
    }
  }

  stop (): void {
    this.beforeStop()
    this.cache.clear()
    this.rateLimiter.clear()
    this.exchange.clear()
  }

  getMetrics (): DiscoveryMetrics {
    return this.metrics.snapshot(this.livePeers())
  }

  /** Estimated nodes on our topics: the peers heard lately, and us */
  private nodes (): number {
    const ttl = peerTtl(this.cache.size + 1, this.options.schedule, C.PEER_TTL_PERIODS)
    return this.cache.live(Date.now(), ttl) + 1
  }

  private livePeers (): number {
    return this.nodes() - 1
  }

  private ttl (): number {
    const now = Date.now()

    if (this.ttlMemo.at !== now) {
      this.ttlMemo = { at: now, ttl: peerTtl(this.nodes(), this.options.schedule, C.PEER_TTL_PERIODS) }
    }

    return this.ttlMemo.ttl
  }

  private onMessage (evt: CustomEvent<PubSubMessage>): void {
    const message = evt.detail

    if (!this.started || !this.topics.includes(message.topic)) {
      return
    }

    this.metrics.received++
    this.metrics.receivedBytes += message.data.byteLength

    try {
      this.handle(message)
    } catch (err) {
      // validation never throws; this guards the handler all the same
      this.metrics.drop('undecodable')
      this.log.error('could not handle a message on %s - %e', message.topic, err)
    }
  }

  private handle (message: PubSubMessage): void {
    const now = Date.now()

    // per author and topic (each announcement goes to every topic);
    // unsigned messages (only accepted with allowUnsigned) share one budget
    if (!this.rateLimiter.allow(`${message.from?.toString() ?? 'unsigned'}/${message.topic}`, now)) {
      this.metrics.drop('rate-limited')
      return
    }

    const result = validateAnnouncement(message, this.components.peerId, this.options.limits)

    if (typeof result === 'string') {
      this.metrics.drop(result)
      if (result !== 'self') {
        this.log('dropped a message on %s: %s', message.topic, result)
      }
      return
    }

    this.metrics.accepted++
    const verdict = this.cache.heard(result.peer, result.multiaddrs, now, this.ttl())
    this.react(result, verdict, now)
    // after our answer to this peer is planned: records it relays (ours
    // among them) may make that answer unnecessary
    this.exchange.receive(result, now)
  }

  /** Emits `peer` and plans our answer, as the verdict on an announcement requires */
  private react (result: Announcement, verdict: CacheVerdict, now: number): void {
    // a peer that sends its own record runs this module: it reads the
    // records relays carry; one that does not (the official module) only
    // learns of us from our own announcements
    const readsRecords = result.signedPeerRecord != null

    if (verdict === 'known') {
      // an official peer first heard lately is still joining: its mesh may
      // have been forming when we answered, so it may not have heard us;
      // answer its announcements (at most once an interval) while it is young
      if (!readsRecords && this.cache.age(result.peer, now) < C.YOUNG_PEER_INTERVALS * this.options.schedule.interval) {
        this.clock.joiningAgain()
      }
      return
    }

    // a peer announcing no address is heard (and answered), not emitted
    if (result.multiaddrs.length > 0) {
      this.log('%s peer %p', verdict, result.peer)
      this.metrics.emitted++
      this.safeDispatchEvent('peer', { detail: { id: result.peer, multiaddrs: result.multiaddrs } })
    }

    if (verdict !== 'changed') {
      // a joining peer connected to us receives our publishes directly
      // (flood publishing), whatever its gossipsub mesh: tell it who we know
      const connected = (this.components.connectionManager?.getConnections(result.peer).length ?? 0) > 0

      if (connected) {
        this.exchange.joinerConnected(result.peer, now)
      }

      this.clock.joined({
        // the answer of a peer that relays records goes first; the others
        // wait a little, and drop theirs if a relay carried their record
        relaying: connected,
        droppable: readsRecords && !connected,
        // for a joiner whose mesh was forming (a relay's records reach it directly)
        secondChance: connected || !readsRecords
      })
    }
  }

  /** A peer another peer relayed the signed record of */
  private learned (peer: PeerId, multiaddrs: Multiaddr[]): void {
    const verdict = this.cache.heard(peer, multiaddrs, Date.now(), this.ttl(), true)

    if (verdict === 'known') {
      return
    }

    this.log('%s peer %p from a relayed record', verdict, peer)
    this.metrics.emitted++
    this.metrics.relayed++
    this.safeDispatchEvent('peer', { detail: { id: peer, multiaddrs } })
  }

  private onSubscriptionChange (evt: CustomEvent<{ peerId: unknown, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void {
    // the first subscriber on a topic: publishing can reach someone now
    if (!this.listenOnly && !this.clock.announcedYet && evt.detail.subscriptions.some(s => s.subscribe && this.topics.includes(s.topic))) {
      this.clock.debounced('first subscriber', Math.min(this.options.announceDebounce, C.FIRST_SUBSCRIBER_DELAY))
    }
  }

  private onSelfUpdate (evt: CustomEvent<PeerUpdate>): void {
    const before = evt.detail.previous?.addresses.map(a => a.multiaddr.toString()).sort().join(',')
    const after = evt.detail.peer.addresses.map(a => a.multiaddr.toString()).sort().join(',')

    if (before !== after) {
      this.clock.debounced('address change')
    }
  }

  /**
   * Publishes our announcement on every topic that has subscribers. Runs
   * from timers: nothing a dependency throws (the address manager, the
   * address filter, the pubsub service) escapes it
   */
  private announce (reason: string): void {
    const pubsub = this.pubsub

    if (!this.started || pubsub == null) {
      return
    }

    try {
      const { data, records } = this.encodeAnnouncement()
      let published = false

      for (const topic of this.topics) {
        if (pubsub.getSubscribers(topic).length === 0) {
          continue
        }

        published = true
        this.metrics.announced++
        this.log('announcing %d bytes with %d records of others on %s (%s)', data.byteLength, records, topic, reason)
        publishSafely(pubsub, topic, data, (err) => {
          this.metrics.announceFailures++
          this.log('announcing on %s failed - %e', topic, err)
        })
      }

      if (published) {
        this.clock.announced()
        this.exchange.sent(records)
        this.metrics.exchangedRecords += records
      }
    } catch (err) {
      this.metrics.announceFailures++
      this.log.error('could not announce (%s) - %e', reason, err)
    }
  }

  /**
   * Our announcement, within the limits receivers apply (ours): at most
   * `maxAddresses` addresses and `maxMessageSize` bytes; our signed record
   * only when it certifies all our addresses (a record of fewer would make
   * receivers store fewer for us than identify does)
   */
  private encodeAnnouncement (): { data: Uint8Array, records: number } {
    const publicKey = this.components.peerId.publicKey

    if (publicKey == null) {
      throw new Error('our peer id has no public key to announce')
    }

    const { maxAddresses, maxMessageSize } = this.options.limits
    const all = this.components.addressManager.getAddresses()
    const announced = all.filter(this.options.addressFilter).slice(0, maxAddresses)
    const message: Peer = { publicKey: publicKeyToProtobuf(publicKey) as Uint8Array<ArrayBuffer>, addrs: announced.map(ma => ma.bytes as Uint8Array<ArrayBuffer>), peerRecords: [] }

    while (message.addrs.length > 0 && Peer.encode(message).byteLength > maxMessageSize) {
      message.addrs.pop()
    }

    if (message.addrs.length < all.length) {
      this.log('announcing %d of our %d addresses', message.addrs.length, all.length)
    }

    const certified = message.addrs.length === all.length ? announced : undefined
    const budget = maxMessageSize - Peer.encode(message).byteLength
    Object.assign(message, this.exchange.outgoing(certified, budget, Date.now(), this.ttl()))

    return { data: Peer.encode(message), records: message.peerRecords.length }
  }
}
