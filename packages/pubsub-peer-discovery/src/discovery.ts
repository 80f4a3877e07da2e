/**
 * The discovery module: receives announcements on its topics, validates
 * them and emits `peer`; publishes our own on the schedule of
 * `schedule.ts`, when our addresses change and in answer to newcomers.
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerDiscoverySymbol, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { LIBP2P_CAPABILITIES, PUBSUB_PEER_DISCOVERY_CAPABILITY } from '@x/interface'
import { TypedEventEmitter } from 'main-event'
import { allAddresses } from './address-filter.ts'
import * as C from './constants.ts'
import { InvalidDiscoveryOptionError, PubSubNotFoundError } from './errors.ts'
import { DiscoveryMetricsRecorder } from './metrics.ts'
import { Peer } from './pb/peer.ts'
import { PeerCache } from './peer-cache.ts'
import { PeerExchange } from './peer-exchange.ts'
import { PendingAnswer } from './pending-answer.ts'
import { findPubSub } from './pubsub.ts'
import { AuthorRateLimiter } from './rate-limit.ts'
import { answerDelay, nextAnnouncementDelay, peerTtl, warmupDelay } from './schedule.ts'
import { validateAnnouncement } from './validate.ts'
import type { AddressFilter } from './address-filter.ts'
import type { PubSubPeerDiscoveryComponents, PubSubPeerDiscoveryInit } from './index.ts'
import type { DiscoveryMetrics } from './metrics.ts'
import type { CacheVerdict } from './peer-cache.ts'
import type { PubSubLike, PubSubMessage } from './pubsub.ts'
import type { ScheduleOptions } from './schedule.ts'
import type { Announcement } from './validate.ts'
import type { Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

function nonNegativeInteger (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (!Number.isInteger(resolved) || resolved < 0) {
    throw new InvalidDiscoveryOptionError(`${name} must be a non-negative integer, got ${value}`)
  }

  return resolved
}

function positive (name: string, value: number | undefined, fallback: number, integer = false): number {
  const resolved = value ?? fallback

  if (!Number.isFinite(resolved) || resolved <= 0 || (integer && !Number.isInteger(resolved))) {
    throw new InvalidDiscoveryOptionError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`)
  }

  return resolved
}

export class PubSubPeerDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  public readonly [peerDiscoverySymbol] = this
  public readonly [Symbol.toStringTag] = '@x/pubsub-peer-discovery'
  public readonly [serviceCapabilities]: string[] = [LIBP2P_CAPABILITIES.peerDiscovery, PUBSUB_PEER_DISCOVERY_CAPABILITY]
  public readonly [serviceDependencies]: string[] = [LIBP2P_CAPABILITIES.pubsub]

  readonly topics: string[]
  readonly listenOnly: boolean
  private readonly components: PubSubPeerDiscoveryComponents
  private readonly schedule: ScheduleOptions
  private readonly announceDebounce: number
  private readonly limits: { maxMessageSize: number, maxAddresses: number, maxPeerRecords: number, allowUnsigned: boolean }
  private readonly addressFilter: AddressFilter
  private readonly pubsubServiceName?: string
  private readonly log: Logger
  private readonly cache: PeerCache
  private readonly rateLimiter: AuthorRateLimiter
  private readonly exchange: PeerExchange
  private readonly metrics = new DiscoveryMetricsRecorder()
  private pubsub?: PubSubLike
  private started = false
  private periodicTimer?: ReturnType<typeof setTimeout>
  private readonly answer = new PendingAnswer(() => { this.announce('answer') })
  private debounceTimer?: ReturnType<typeof setTimeout>
  private lastAnnounced = 0
  private startedAt = 0
  /** When we last heard a peer we did not know (or one that returned) */
  private lastNewPeer = -Infinity
  /** When the periodic timer fires */
  private periodicDue = 0
  /**
   * Our next announcements that carry other peers' records: set when a
   * peer connected to us joins (our publishes reach it directly)
   */
  private exchangesDue = 0
  /**
   * The most records another peer relayed in one message since a joining
   * peer connected to us set `exchangesDue`
   */
  private largestExchangeHeard = 0

  constructor (components: PubSubPeerDiscoveryComponents, init: PubSubPeerDiscoveryInit = {}) {
    super()
    this.components = components
    this.topics = init.topics != null && init.topics.length > 0 ? [...init.topics] : [C.TOPIC]
    this.listenOnly = init.listenOnly ?? false
    const interval = positive('interval', init.interval, C.DEFAULT_INTERVAL)
    const jitter = init.jitter ?? C.DEFAULT_JITTER

    if (!Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
      throw new InvalidDiscoveryOptionError(`jitter must be in [0, 1), got ${init.jitter}`)
    }

    this.schedule = { interval, jitter, targetAnnouncements: positive('targetAnnouncements', init.targetAnnouncements, C.DEFAULT_TARGET_ANNOUNCEMENTS, true) }
    this.announceDebounce = init.announceDebounce ?? C.DEFAULT_ANNOUNCE_DEBOUNCE

    if (!Number.isFinite(this.announceDebounce) || this.announceDebounce < 0) {
      throw new InvalidDiscoveryOptionError(`announceDebounce must be >= 0, got ${init.announceDebounce}`)
    }

    this.limits = {
      maxMessageSize: positive('maxMessageSize', init.maxMessageSize, C.DEFAULT_MAX_MESSAGE_SIZE, true),
      maxAddresses: positive('maxAddresses', init.maxAddresses, C.DEFAULT_MAX_ADDRESSES, true),
      maxPeerRecords: C.MAX_PEER_RECORDS_PER_MESSAGE,
      allowUnsigned: init.allowUnsigned ?? false
    }
    this.addressFilter = init.addressFilter ?? allAddresses
    this.pubsubServiceName = init.pubsubServiceName
    this.cache = new PeerCache(positive('maxPeers', init.maxPeers, C.DEFAULT_MAX_PEERS, true))
    this.rateLimiter = new AuthorRateLimiter(positive('rateLimit', init.rateLimit, C.DEFAULT_RATE_LIMIT, true), interval, C.MAX_TRACKED_AUTHORS)
    this.log = components.logger.forComponent('x:pubsub-peer-discovery')
    this.exchange = new PeerExchange(components, {
      maxExchangedPeers: nonNegativeInteger('maxExchangedPeers', init.maxExchangedPeers, C.DEFAULT_MAX_EXCHANGED_PEERS),
      maxAddresses: this.limits.maxAddresses,
      maxPeers: this.cache.maxPeers
    }, {
      knows: (peer) => this.cache.knows(peer, Date.now(), this.ttl()),
      learned: (peer, multiaddrs) => { this.learned(peer, multiaddrs) },
      drop: (reason) => { this.metrics.drop(reason) },
      relayedUs: () => {
        if (this.answer.relayed()) {
          this.log('a relay told the joining peers about us: no answer')
        }
      },
      isStarted: () => this.started
    }, this.log)
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

    const pubsub = this.pubsubServiceName != null
      ? (this.components as any).components?.[this.pubsubServiceName] as PubSubLike | undefined
      : findPubSub(this.components)

    if (pubsub == null || typeof pubsub.subscribe !== 'function') {
      throw new PubSubNotFoundError(`No pubsub service is registered as "${this.pubsubServiceName}"`)
    }

    this.pubsub = pubsub
    this.started = true
    this.startedAt = Date.now()

    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    for (const topic of this.topics) {
      pubsub.subscribe(topic)
    }

    if (!this.listenOnly) {
      this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
      this.announce('start')
      this.schedulePeriodic()
    }
  }

  beforeStop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.exchangesDue = 0
    clearTimeout(this.periodicTimer)
    this.answer.clear()
    clearTimeout(this.debounceTimer)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)

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
    const ttl = peerTtl(this.cache.size + 1, this.schedule, C.PEER_TTL_PERIODS)
    return this.cache.live(Date.now(), ttl) + 1
  }

  private livePeers (): number {
    return this.nodes() - 1
  }

  private ttl (): number {
    return peerTtl(this.nodes(), this.schedule, C.PEER_TTL_PERIODS)
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

    // unsigned messages (only accepted with allowUnsigned) share one budget
    if (!this.rateLimiter.allow(message.from?.toString() ?? 'unsigned', now)) {
      this.metrics.drop('rate-limited')
      return
    }

    const result = validateAnnouncement(message, this.components.peerId, this.limits)

    if (typeof result === 'string') {
      this.metrics.drop(result)
      if (result !== 'self') {
        this.log('dropped a message on %s: %s', message.topic, result)
      }
      return
    }

    this.metrics.accepted++
    const verdict = this.cache.heard(result.peer, result.multiaddrs, now, this.ttl())

    if (result.peerRecords.length > 0) {
      this.largestExchangeHeard = Math.max(this.largestExchangeHeard, result.peerRecords.length)
    }

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
      if (!readsRecords && this.cache.age(result.peer, now) < C.YOUNG_PEER_INTERVALS * this.schedule.interval) {
        this.requestAnswer(now, this.schedule.interval, false, false)
      }
      return
    }

    this.log('%s peer %p', verdict, result.peer)
    this.metrics.emitted++
    this.safeDispatchEvent('peer', { detail: { id: result.peer, multiaddrs: result.multiaddrs } })

    if (verdict !== 'changed') {
      this.lastNewPeer = now
      // a joining peer connected to us receives our publishes directly
      // (flood publishing), whatever its gossipsub mesh: tell it who we know
      const connected = (this.components.connectionManager?.getConnections(result.peer).length ?? 0) > 0

      if (connected) {
        this.exchangesDue = C.EXCHANGES_PER_JOIN
        this.largestExchangeHeard = 0
      }

      // the answer of a peer that relays records goes first; the others
      // wait a little, and drop theirs if a relay carried their record
      this.requestAnswer(now, this.schedule.interval / 2, connected, readsRecords && !connected)

      // a second chance, for a joiner whose mesh was forming (a relay's
      // records reach it directly)
      if (connected || !readsRecords) {
        this.hurryPeriodic()
      }
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

  /**
   * A peer is joining: announce ourselves soon (sooner if we relay records
   * to it), but not sooner than `spacing` after our last announcement; an
   * answer already pending is brought forward if this one is due earlier
   */
  private requestAnswer (now: number, spacing: number, relaying: boolean, droppable: boolean): void {
    if (this.listenOnly) {
      return
    }

    const at = Math.max(now + answerDelay(this.schedule, relaying), this.lastAnnounced + spacing)
    this.answer.request(at, droppable)
  }

  private onSubscriptionChange (evt: CustomEvent<{ peerId: unknown, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void {
    // the first subscriber on a topic: publishing can reach someone now
    if (!this.listenOnly && this.lastAnnounced === 0 && evt.detail.subscriptions.some(s => s.subscribe && this.topics.includes(s.topic))) {
      this.debounced('first subscriber', Math.min(this.announceDebounce, C.FIRST_SUBSCRIBER_DELAY))
    }
  }

  private onSelfUpdate (evt: CustomEvent<PeerUpdate>): void {
    const before = evt.detail.previous?.addresses.map(a => a.multiaddr.toString()).sort().join(',')
    const after = evt.detail.peer.addresses.map(a => a.multiaddr.toString()).sort().join(',')

    if (before !== after) {
      this.debounced('address change')
    }
  }

  private debounced (reason: string, delay = this.announceDebounce): void {
    clearTimeout(this.debounceTimer)
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined
      this.announce(reason)
    }, delay)
  }

  private schedulePeriodic (delay?: number): void {
    clearTimeout(this.periodicTimer)
    delay ??= this.warmingUp() ? warmupDelay(this.schedule) : nextAnnouncementDelay(this.nodes(), this.schedule)
    this.periodicDue = Date.now() + delay
    this.periodicTimer = setTimeout(() => {
      // every announcement at least half an interval after the one before
      // (answers keep that spacing too): at most two per interval
      const wait = this.lastAnnounced + this.schedule.interval / 2 - Date.now()

      if (wait > 0) {
        this.schedulePeriodic(wait)
        return
      }

      this.announce('periodic')
      this.cache.prune(Date.now(), this.ttl())
      this.schedulePeriodic()
    }, delay)
  }

  /**
   * We heard a newcomer: besides the quick answer, announce again about an
   * interval later (not a whole period), so a newcomer whose mesh was still
   * forming when the answer went out gets a second chance
   */
  private hurryPeriodic (): void {
    if (this.listenOnly || !this.started) {
      return
    }

    const delay = warmupDelay(this.schedule)

    if (this.periodicDue > Date.now() + delay) {
      this.schedulePeriodic(delay)
    }
  }

  /**
   * Whether we announce every interval: in the first intervals after start,
   * and for as long as we keep hearing new peers (a forming swarm), up to
   * MAX_WARMUP_INTERVALS after start
   */
  private warmingUp (): boolean {
    const now = Date.now()
    const since = now - this.startedAt

    if (since < C.WARMUP_INTERVALS * this.schedule.interval) {
      return true
    }

    return since < C.MAX_WARMUP_INTERVALS * this.schedule.interval && now - this.lastNewPeer < this.schedule.interval
  }

  /** Publishes our announcement on every topic that has subscribers */
  private announce (reason: string): void {
    const pubsub = this.pubsub

    if (!this.started || pubsub == null) {
      return
    }

    const publicKey = this.components.peerId.publicKey

    if (publicKey == null) {
      this.log.error('our peer id has no public key to announce')
      return
    }

    const multiaddrs = this.components.addressManager.getAddresses().filter(this.addressFilter)
    const message: Peer = { publicKey: publicKeyToProtobuf(publicKey) as Uint8Array<ArrayBuffer>, addrs: multiaddrs.map(ma => ma.bytes as Uint8Array<ArrayBuffer>), peerRecords: [] }
    const now = Date.now()

    // another peer relayed as many records as we could since the join,
    // most likely to the same joiner (records go out only when a peer
    // connected to the relay joins): the nodes around a joiner do not all
    // send the same records, while a node that knows more keeps sending
    if (this.exchangesDue > 0 && this.largestExchangeHeard > 0 && this.largestExchangeHeard >= this.exchange.relayable(now, this.ttl())) {
      this.exchangesDue = 0
    }

    const exchange = this.exchangesDue > 0
    // what our own fields take of the size limit receivers apply, with room
    // for the optional record's tag and length
    const budget = this.limits.maxMessageSize - Peer.encode(message).byteLength - 8
    Object.assign(message, this.exchange.outgoing(multiaddrs, exchange, budget, now, this.ttl()))

    // only announcements that did carry records count (right after start
    // we may hold none yet)
    if (message.peerRecords.length > 0) {
      this.exchangesDue--
      this.metrics.exchangedRecords += message.peerRecords.length
    }

    const data = Peer.encode(message)

    for (const topic of this.topics) {
      if (pubsub.getSubscribers(topic).length === 0) {
        continue
      }

      this.lastAnnounced = Date.now()
      // any announcement answers the peers joining so far
      this.answer.clear()
      this.metrics.announced++
      this.log('announcing %d addresses and %d records of others on %s (%s)', message.addrs.length, message.peerRecords.length, topic, reason)
      pubsub.publish(topic, data).catch(err => {
        this.metrics.announceFailures++
        this.log('announcing on %s failed - %e', topic, err)
      })
    }
  }
}
