/**
 * The discovery module: receives announcements on its topics through
 * `gate.ts` (as gossipsub's topic validator when there is one)
 * and emits `peer`; publishes our own when `announcement-clock.ts` or, for
 * joining peers, `joins.ts` says, with our signed record and, when
 * `joins.ts` says, others' records (`peer-exchange.ts`). The rules:
 * PROTOCOL.md.
 */
import { peerDiscoverySymbol, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { dns as defaultDns } from '@multiformats/dns'
import { LIBP2P_CAPABILITIES, PUBSUB_PEER_DISCOVERY_CAPABILITY } from '@x/interface'
import { TypedEventEmitter } from 'main-event'
import { AnnouncementClock } from './announcement-clock.ts'
import * as C from './constants.ts'
import { DirectExchange } from './direct-exchange.ts'
import { Gate } from './gate.ts'
import { Joins } from './joins.ts'
import { DiscoveryMetricsRecorder } from './metrics.ts'
import { NameCheck } from './names.ts'
import { resolveOptions } from './options.ts'
import { encodeOwnAnnouncement } from './own-announcement.ts'
import { PeerCache } from './peer-cache.ts'
import { PeerExchange } from './peer-exchange.ts'
import { findPubSub, publishSafely } from './pubsub.ts'
import { peerTtl } from './schedule.ts'
import type { AddressSource } from './address-filter.ts'
import type { ExchangeVerdict } from './direct-exchange.ts'
import type { PubSubPeerDiscoveryComponents, PubSubPeerDiscoveryInit } from './index.ts'
import type { DiscoveryMetrics } from './metrics.ts'
import type { DiscoveryOptions } from './options.ts'
import type { CacheVerdict } from './peer-cache.ts'
import type { OutgoingRecords } from './peer-exchange.ts'
import type { PubSubLike, PubSubMessage } from './pubsub.ts'
import type { Announcement } from './validate.ts'
import type { Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { DNS } from '@multiformats/dns'
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
  /** Peers heard announcing themselves */
  private readonly cache: PeerCache
  /** Peers learned only from records others relayed: kept apart, never counted in the size estimate */
  private readonly relayedPeers: PeerCache
  private readonly gate: Gate
  private readonly exchange: PeerExchange
  private readonly clock: AnnouncementClock
  /** The join state: answers to joiners and records due (PROTOCOL.md S4-S7, X1-X3) */
  private readonly joins: Joins
  /** Announcements exchanged on a stream of our own with peers we dial while joining (PROTOCOL.md D1-D5); none without a registrar */
  private readonly direct?: DirectExchange
  private readonly metrics = new DiscoveryMetricsRecorder()
  /** Resolves DNS names in others' addresses before they are accepted (PROTOCOL.md A4) */
  private readonly names: NameCheck
  /**
   * Peers with an announcement (key: its id) or a relayed record (key:
   * `relayed/` and its id) waiting for its names to resolve: the ticket of
   * the latest of them, and how many wait (an entry lives only while one
   * waits, each at most `nameResolutionTimeout`)
   */
  private readonly resolving = new Map<string, { latest: number, waiting: number }>()
  private tickets = 0
  private pubsub?: PubSubLike
  /** The validator we registered on each topic, and the one it replaced (bounded by our topics) */
  private readonly installedValidators = new Map<string, { ours: unknown, theirs: unknown }>()
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
    this.cache = new PeerCache(this.options.maxPeers, this.options.schedule.interval * C.ESTABLISHED_AFTER)
    let dns: DNS | undefined
    this.names = new NameCheck(() => {
      dns ??= optionalComponent(() => components.dns) ?? defaultDns()
      return dns
    }, {
      timeout: this.options.nameResolutionTimeout,
      interval: this.options.schedule.interval,
      maxLookupsPerInterval: this.options.maxNameLookupsPerInterval,
      maxLookupsPerAuthor: C.MAX_NAME_LOOKUPS_PER_AUTHOR,
      isConnected: (peer) => this.connections(peer).length > 0
    }, this.log)
    this.relayedPeers = new PeerCache(this.options.maxPeers)
    this.gate = new Gate(components.peerId, {
      limits: this.options.limits,
      rateLimit: this.options.rateLimit,
      interval: this.options.schedule.interval,
      maxNewPeersPerInterval: this.options.maxNewPeersPerInterval,
      incomingAddressFilter: this.options.incomingAddressFilter
    }, {
      isStarted: () => this.started,
      knows: (peer, now) => this.knows(peer, now),
      stale: (announcement) => this.exchange.stale(announcement),
      connections: (peer) => this.connections(peer),
      ttl: () => this.ttl()
    }, this.metrics, this.log)
    this.exchange = new PeerExchange(components, {
      maxExchangedPeers: this.options.maxExchangedPeers,
      maxAddresses: this.options.limits.maxAddresses,
      maxPeers: this.options.maxPeers,
      maxVerificationsPerInterval: this.options.maxVerificationsPerInterval,
      interval: this.options.schedule.interval
    }, {
      knows: (peer) => this.knows(peer, Date.now()),
      joining: () => Date.now() - this.startedAt < C.MAX_WARMUP_INTERVALS * this.options.schedule.interval,
      learned: (peer, multiaddrs, source) => { this.learned(peer, multiaddrs, source) },
      acceptsAll: async (multiaddrs, source) => this.acceptsAll(multiaddrs, source),
      drop: (reason) => { this.metrics.drop(reason) },
      isStarted: () => this.started
    }, this.log)
    this.clock = new AnnouncementClock({
      schedule: this.options.schedule,
      announceDebounce: this.options.announceDebounce,
      announce: (reason) => { this.announce(reason) },
      nodes: () => this.nodes(),
      afterPeriodic: () => { this.cache.prune(Date.now(), this.ttl()) }
    })
    this.joins = new Joins(this.options.schedule, {
      answer: () => this.announce('answer'),
      lastAnnounced: () => this.clock.lastAnnounced
    })
    const registrar = optionalComponent(() => components.registrar)
    this.direct = registrar == null
      ? undefined
      : new DirectExchange(registrar, { maxMessageSize: this.options.limits.maxMessageSize, interval: this.options.schedule.interval }, {
        joining: () => this.started && Date.now() - this.startedAt < C.MAX_WARMUP_INTERVALS * this.options.schedule.interval,
        reached: () => this.topics.some(topic => this.subscribers(topic) > 0),
        announcement: async (to) => this.directAnnouncement(to),
        received: (peer, data, answer) => this.receivedDirect(peer, data, answer),
        drop: (reason) => { this.metrics.drop(reason) },
        exchanged: (side) => {
          if (side === 'opened') {
            this.metrics.exchangesOpened++
          } else {
            this.metrics.exchangesAnswered++
          }
        }
      }, this.log)
    this.onMessage = this.onMessage.bind(this)
    this.onSubscriptionChange = this.onSubscriptionChange.bind(this)
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
    this.metrics.register(components.metrics, this.options.metricsPrefix, () => this.livePeers())
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
      this.installValidator(topic)
      pubsub.subscribe(topic)
    }

    if (!this.listenOnly) {
      this.components.events?.addEventListener('self:peer:update', this.onSelfUpdate)
      this.joins.start()
      this.clock.start()
      this.direct?.start().catch(err => {
        this.log.error('could not start the direct exchange - %e', err)
      })
    }
  }

  beforeStop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.clock.stop()
    this.joins.stop()
    this.direct?.stop()
    this.exchange.reset()
    this.names.abort()
    this.resolving.clear()
    this.components.events?.removeEventListener('self:peer:update', this.onSelfUpdate)

    const pubsub = this.pubsub
    pubsub?.removeEventListener('message', this.onMessage)
    pubsub?.removeEventListener('subscription-change', this.onSubscriptionChange)
    for (const topic of this.topics) {
      this.uninstallValidator(topic)

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
    this.relayedPeers.clear()
    this.gate.clear()
    this.exchange.clear()
  }

  getMetrics (): DiscoveryMetrics {
    return this.metrics.snapshot(this.livePeers())
  }

  /**
   * Estimated nodes on our topics, for our period (S2): the established
   * peers heard within the ttl reckoned from the established peers held (a
   * flood of fresh keys does not count, R16, nor lengthens how long a peer
   * gone counts), and us
   */
  private nodes (): number {
    const now = Date.now()
    const ttl = peerTtl(this.cache.established(now, Infinity) + 1, this.options.schedule, C.PEER_TTL_PERIODS)
    return this.cache.established(now, ttl) + 1
  }

  /**
   * The peers heard announcing themselves lately, established or not, and
   * us: the ttl is reckoned from these, so that a peer heard once in a
   * large topic is still held when it announces again, a period later
   * (R16: a flood may lengthen the ttl, never the period)
   */
  private heardNodes (): number {
    const ttl = peerTtl(this.cache.size + 1, this.options.schedule, C.PEER_TTL_PERIODS)
    return this.cache.live(Date.now(), ttl) + 1
  }

  private livePeers (): number {
    return this.heardNodes() - 1
  }

  private ttl (): number {
    const now = Date.now()

    if (this.ttlMemo.at !== now) {
      this.ttlMemo = { at: now, ttl: peerTtl(this.heardNodes(), this.options.schedule, C.PEER_TTL_PERIODS) }
    }

    return this.ttlMemo.ttl
  }

  /**
   * Registers the gate as gossipsub's validator of `topic`; a validator the
   * application set there is kept, and judges what the gate accepts
   */
  private installValidator (topic: string): void {
    const validators = this.validators()

    if (validators == null) {
      return
    }

    const theirs = validators.get(topic)
    const ours = typeof theirs === 'function'
      ? (source: PeerId, message: PubSubMessage): unknown => {
          const verdict = this.gate.validate(source, message)
          return verdict === 'accept' ? theirs(source, message) : verdict
        }
      : this.gate.validate
    this.installedValidators.set(topic, { ours, theirs })
    validators.set(topic, ours)
  }

  /** Removes our validator of `topic`, putting back the application's */
  private uninstallValidator (topic: string): void {
    const validators = this.validators()
    const installed = this.installedValidators.get(topic)
    this.installedValidators.delete(topic)

    if (validators == null || installed == null || validators.get(topic) !== installed.ours) {
      return
    }

    if (installed.theirs != null) {
      validators.set(topic, installed.theirs)
    } else {
      validators.delete(topic)
    }
  }

  /** Subscribers of `topic` our pubsub service knows (0 if it cannot tell) */
  private subscribers (topic: string): number {
    try {
      return this.pubsub?.getSubscribers(topic).length ?? 0
    } catch {
      return 0
    }
  }

  /** gossipsub's topic validators, when the pubsub service has them */
  private validators (): Map<string, unknown> | undefined {
    const validators = (this.pubsub as any)?.topicValidators
    return validators instanceof Map ? validators : undefined
  }

  private onMessage (evt: CustomEvent<PubSubMessage>): void {
    const message = evt.detail

    if (!this.started || !this.topics.includes(message.topic)) {
      return
    }

    this.take(message)
  }

  /**
   * D3: an announcement `peer` sent us on a direct exchange, judged by the
   * gate as the same message on our first topic would be, but for its
   * seqno (R3): it has none, and cannot be replayed, since only `peer`
   * speaks on its connection. Returns whether the gate accepted it, and, for
   * the `answer` to an exchange we opened, whether it named peers we did not
   * know (D2: only the side that opened an exchange repeats it)
   */
  private receivedDirect (peer: PeerId, data: Uint8Array, answer: boolean): ExchangeVerdict {
    if (!this.started) {
      return 'refused'
    }

    const message: PubSubMessage = { type: 'signed', topic: this.topics[0], data, from: peer }

    if (this.gate.validate(peer, message) !== 'accept') {
      return 'refused'
    }

    // before it is taken: the peer itself, or a record, new to us
    const announcement = answer ? this.gate.acceptedAnnouncement(message) : undefined
    const taught = announcement != null && (!this.knows(announcement.peer, Date.now()) || this.namesPeerToLearn(announcement))
    this.take(message)
    return taught ? 'taught' : 'accepted'
  }

  /** Whether an accepted announcement relays the record of a peer we would learn (D2), its addresses judged as `learned` judges them */
  private namesPeerToLearn (announcement: Announcement): boolean {
    const source = announcement.source ?? { reach: 'public' }

    return this.exchange.namesUnknownPeer(announcement.peer, announcement.peerRecords, multiaddr => {
      try {
        return this.options.incomingAddressFilter(multiaddr, source)
      } catch {
        return false
      }
    })
  }

  /** Handles a message the gate judged (or judges now), once its DNS names are pinned */
  private take (message: PubSubMessage): void {
    const verdict = this.gate.delivered(message)

    if (verdict.action !== 'accept') {
      return
    }

    const announcement = verdict.announcement
    this.whenNamesPinned(announcement.peer.toString(), announcement.multiaddrs, announcement.source ?? { reach: 'public' }, kept => {
      this.safeHandle(kept === announcement.multiaddrs ? announcement : { ...announcement, multiaddrs: kept })
    })
  }

  /**
   * Hands the addresses to `deliver` with their DNS names resolved, judged
   * and pinned (`NameCheck`), at once when they hold no name. Of the calls
   * for one key whose lookups overlap, only the latest is delivered; nothing
   * is after `stop()`.
   */
  private whenNamesPinned (key: string, multiaddrs: Multiaddr[], source: AddressSource, deliver: (multiaddrs: Multiaddr[]) => void): void {
    const ticket = ++this.tickets
    const waiting = this.resolving.get(key)

    if (!NameCheck.anyName(multiaddrs)) {
      // an older call still waiting for its names is outdated now
      if (waiting != null) {
        waiting.latest = ticket
      }

      deliver(multiaddrs)
      return
    }

    this.resolving.set(key, { latest: ticket, waiting: (waiting?.waiting ?? 0) + 1 })
    void this.names.pin(multiaddrs, this.options.incomingAddressFilter, source).then(({ addresses, dropped }) => {
      const entry = this.resolving.get(key)

      if (entry == null || !this.started) {
        return
      }

      if (--entry.waiting === 0) {
        this.resolving.delete(key)
      }

      this.metrics.filteredAddresses += dropped

      if (entry.latest === ticket) {
        deliver(addresses)
      }
    })
  }

  private safeHandle (announcement: Announcement): void {
    try {
      this.handle(announcement)
    } catch (err) {
      this.log.error('could not handle an announcement of %p - %e', announcement.peer, err)
    }
  }

  /**
   * Whether the incoming filter keeps every one of these addresses, DNS
   * names resolved, and none is a name we would pin (A4): a record
   * certifying one is not stored, since the peer store would have libp2p
   * resolve the name again at dial time
   */
  private async acceptsAll (multiaddrs: Multiaddr[], source: AddressSource): Promise<boolean> {
    const filter = this.options.incomingAddressFilter

    if (!multiaddrs.every(ma => filter(ma, source) && !NameCheck.pinnable(ma))) {
      return false
    }

    return !NameCheck.anyName(multiaddrs) || (await this.names.filter(multiaddrs, filter, source)).length === multiaddrs.length
  }

  private handle (announcement: Announcement): void {
    const now = Date.now()
    let verdict = this.cache.heard(announcement.peer, announcement.multiaddrs, now, this.ttl(), false, announcement.connected === true)
    const relayed = this.relayedPeers.forget(announcement.peer, now, this.ttl())

    // a peer we learned from a relayed record is no news when it announces
    // the same addresses itself (and is not joining)
    if (verdict === 'new' && relayed != null && relayed === PeerCache.key(announcement.multiaddrs)) {
      verdict = 'known'
    }

    this.react(announcement, verdict, now)
    this.exchange.receive(announcement, now, { connected: announcement.connected === true, source: announcement.source ?? { reach: 'public' } })
  }

  /** Whether we heard the peer lately, itself or through a relayed record */
  private knows (peer: PeerId, now: number): boolean {
    return this.cache.knows(peer, now, this.ttl()) || this.relayedPeers.knows(peer, now, this.ttl())
  }

  private connections (peer: PeerId): Array<{ remoteAddr?: Multiaddr }> {
    try {
      return this.components.connectionManager?.getConnections(peer) ?? []
    } catch {
      return []
    }
  }

  /** Emits `peer`; `joins.ts` decides how a joining peer is answered */
  private react (result: Announcement, verdict: CacheVerdict, now: number): void {
    // a peer announcing no address is heard (and answered), not emitted
    if (verdict !== 'known' && result.multiaddrs.length > 0) {
      this.log('%s peer %p', verdict, result.peer)
      this.metrics.emitted++
      this.safeDispatchEvent('peer', { detail: { id: result.peer, multiaddrs: result.multiaddrs } })
    }

    const newPeer = this.joins.heard(result.peer, {
      verdict,
      connected: result.connected === true,
      readsRecords: result.signedPeerRecord != null,
      age: this.cache.age(result.peer, now)
    }, now)

    if (newPeer) {
      this.clock.heardNewPeer()
    }
  }

  /** A peer another peer (connected to us) relayed the signed record of */
  private learned (peer: PeerId, multiaddrs: Multiaddr[], source: AddressSource): void {
    const now = Date.now()

    if (this.cache.knows(peer, now, this.ttl())) {
      return
    }

    const kept = multiaddrs.filter(ma => this.options.incomingAddressFilter(ma, source))
    this.metrics.filteredAddresses += multiaddrs.length - kept.length
    this.whenNamesPinned(`relayed/${peer.toString()}`, kept, source, resolved => {
      this.learnedChecked(peer, resolved, Date.now())
    })
  }

  /** A relay-learned peer whose addresses passed the incoming filter (names resolved) */
  private learnedChecked (peer: PeerId, kept: Multiaddr[], now: number): void {
    if (kept.length === 0 || this.cache.knows(peer, now, this.ttl()) || (!this.relayedPeers.knows(peer, now, this.ttl()) && !this.gate.takeNewPeer(now))) {
      return
    }

    const verdict = this.relayedPeers.heard(peer, kept, now, this.ttl(), true)

    if (verdict === 'known') {
      return
    }

    this.log('%s peer %p from a relayed record', verdict, peer)
    this.metrics.emitted++
    this.metrics.relayed++
    this.safeDispatchEvent('peer', { detail: { id: peer, multiaddrs: kept } })
  }

  private onSubscriptionChange (evt: CustomEvent<{ peerId: unknown, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void {
    // the first subscriber on a topic, or one after our answer to a joiner
    // reached nobody: publishing can reach someone now
    if (!this.listenOnly && (!this.clock.announcedYet || this.joins.owed) && evt.detail.subscriptions.some(s => s.subscribe && this.topics.includes(s.topic))) {
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
   * Publishes our announcement on every topic that has subscribers; whether
   * it went out on any. Runs from timers: nothing a dependency throws (the address manager, the
   * address filter, the pubsub service) escapes it
   */
  private announce (reason: string): boolean {
    const pubsub = this.pubsub

    if (!this.started || pubsub == null) {
      return false
    }

    try {
      const { data, records, certified } = this.topicAnnouncement()
      let published = false
      let missedTopic = false
      const announcement = this.clock.nextAnnouncement

      for (const topic of this.topics) {
        if (pubsub.getSubscribers(topic).length === 0) {
          missedTopic = true
          continue
        }

        published = true
        this.metrics.announced++
        this.log('announcing %d bytes with %d records of others on %s (%s)', data.byteLength, records, topic, reason)
        publishSafely(pubsub, topic, data, (err) => {
          this.metrics.announceFailures++
          this.clock.incomplete(announcement)
          this.log('announcing on %s failed - %e', topic, err)
        })
      }

      if (published) {
        if (missedTopic || (!certified && this.exchange.sealsOwnRecord)) {
          this.clock.incomplete(announcement)
        }

        this.clock.announced()
        this.joins.announced(records, Date.now())
        this.metrics.exchangedRecords += records
      }

      return published
    } catch (err) {
      this.metrics.announceFailures++
      this.log.error('could not announce (%s) - %e', reason, err)
      return false
    }
  }

  /**
   * Our announcement on a direct exchange: to a peer we dialed, without
   * others' records (D2); answering `to`, with the records of the peers
   * we heard, none of `to`'s own (D3)
   */
  private async directAnnouncement (to?: PeerId): Promise<Uint8Array> {
    const encode = (): Uint8Array => this.encodeAnnouncement((certified, budget) => {
      const exclude = new Set([this.components.peerId.toString(), ...(to == null ? [] : [to.toString()])])
      return this.exchange.outgoing(certified, budget, Date.now(), this.ttl(), to != null, exclude)
    }).data

    // with our record (A3): the first encoding starts sealing it if it is not
    encode()
    await this.exchange.ownRecordSealed()
    return encode()
  }

  /** Our topic announcement, with others' records when `joins.ts` says */
  private topicAnnouncement (): { data: Uint8Array, records: number, certified: boolean } {
    return this.encodeAnnouncement((certified, budget) => {
      const now = Date.now()
      const exclude = this.joins.excluded(this.components.peerId)
      return this.exchange.outgoing(certified, budget, now, this.ttl(), this.joins.carriesRecords(now), exclude)
    })
  }

  /** Our announcement (own-announcement.ts) with the records `pick` picks */
  private encodeAnnouncement (pick: (certified: Multiaddr[], budget: number) => OutgoingRecords): { data: Uint8Array, records: number, certified: boolean } {
    const addresses = this.components.addressManager.getAddresses()
    const { data, addresses: announced, records, certified } = encodeOwnAnnouncement({
      peerId: this.components.peerId,
      addresses,
      addressFilter: this.options.addressFilter,
      maxAddresses: this.options.limits.maxAddresses,
      maxMessageSize: this.options.limits.maxMessageSize,
      records: pick
    })

    if (announced < addresses.length) {
      this.log('announcing %d of our %d addresses', announced, addresses.length)
    }

    return { data, records, certified }
  }
}

/** A component libp2p may not have: its components object throws for those */
function optionalComponent<T> (get: () => T | undefined): T | undefined {
  try {
    return get()
  } catch {
    return undefined
  }
}
