/**
 * @packageDocumentation
 *
 * Peer discovery over gossipsub, wire-compatible with
 * `@libp2p/pubsub-peer-discovery`: the same `Peer { publicKey, addrs }`
 * message on the same default topic (`_peer-discovery._p2p._pubsub`), so
 * nodes running either module discover each other. It is usable in
 * `peerDiscovery: [...]` or in `services`, and fixes what the official
 * module leaves open:
 *
 * - **Authenticated**: an announcement whose gossipsub author is not the
 * peer it announces is dropped (anyone can sign a message, nobody can sign
 * as someone else). Unsigned messages are dropped unless `allowUnsigned`.
 * - **Bounded**: oversized messages, too many addresses, undecodable keys or
 * multiaddrs are dropped and counted by reason, never thrown; each author
 * may send `rateLimit` messages per interval; the peer cache holds
 * `maxPeers`. `getMetrics()` reports every counter.
 * - **Quiet**: `peer` is emitted only for peers that are new, whose
 * addresses changed, or that were not heard for a while; never for us.
 * - **Prompt**: we announce at start (or when the first subscriber appears),
 * within `announceDebounce` of a change of our own addresses (a new relay
 * address is known at once), and on a jittered schedule.
 * - **`listenOnly` works**: such nodes discover peers (the official module's
 * never emit, as its started-check depends on the broadcast timer).
 * - **Found by capability**: the pubsub service is the one that declares
 * `@libp2p/pubsub`, whatever key it has; `pubsubServiceName` names one.
 * - **Certified**: announcements carry the announcer's signed peer record
 * (extra field 3, skipped by the official decoder); receivers verify it and
 * store the certified addresses.
 *
 * ## Cost that stays flat as the topic grows
 *
 * Every announcement reaches every subscriber, so with N nodes each
 * announcing every interval (the official module) each node receives N - 1
 * messages per interval. Here a node announces once per period of
 * ceil(N / K) intervals (N estimated from the peers heard recently,
 * K = `targetAnnouncements`), at a random point between half a period and one
 * and a half, so the topic carries about K announcements per interval whatever
 * its size. A peer counts as unheard only after 4 of its periods (the ttl it
 * was heard with, so a shrinking estimate never re-emits known peers).
 *
 * Joining is faster than the slow rhythm, and bounded:
 *
 * - a node announces as soon as the topic has a subscriber, then every
 * interval (jittered) for its first 3 intervals, and beyond that for as long
 * as it heard a new peer in the last interval, up to 10 intervals after its
 * start (a swarm that is still forming keeps talking; a steady one falls
 * silent);
 * - peer exchange: the nodes a newcomer is connected to answer it first
 * (within an eighth of an interval), with the signed records of up to
 * `maxExchangedPeers` peers they heard announce themselves within their ttl
 * (extra field 4), and again about an interval later (no sooner than half
 * an interval after their previous announcement, as always). Gossipsub
 * flood-publishes a node's own messages to every subscribed peer it is
 * connected to, so the newcomer receives them whatever its mesh and learns
 * the topic from one message. A node that heard another peer relay at least
 * as many records since the join holds its own back. Records are signed by
 * the peers they describe: a relay can replay, not forge them. A node
 * learns from relayed records only in its first 10 intervals, never counts
 * their peers as heard, and never relays them on: a relay can make a
 * joining node try a gone peer, not keep it in the topic;
 * - every other node answers later in the first half interval (one answer
 * however many newcomers; any announcement that goes out first counts as
 * the answer), and drops its answer when a relay carried its record
 * meanwhile and every newcomer waiting for it runs this module (it sends its
 * own record): a join costs the topic a few messages, not one per node;
 * - a newcomer running the official module (no record; it ignores relayed
 * records) is answered by everyone, again about an interval later, and
 * while it is young (first heard less than 3 intervals ago) its
 * announcements are answered again, at most once an interval, as its
 * gossipsub mesh may have been forming.
 *
 * Any two announcements of a node are at least half an interval apart (the
 * first one and changes of our own addresses aside), so a node announces at
 * most twice per interval, on each of its topics (the official module: once
 * per interval, always); when many nodes join at once the topic carries more
 * for a few intervals and falls back to K per interval when joining stops.
 *
 * Our own announcement stays within `maxAddresses` and `maxMessageSize`;
 * it carries our signed record only when that certifies all our addresses
 * (with an `addressFilter` that drops some, a record of the rest would make
 * receivers store fewer addresses for us than identify does).
 *
 * Measured (`bench/discovery/swarm.ts`, loopback, 4 worker processes on 2
 * cores; every node dials a bootstrap node, then peers it discovers up to 6
 * connections; steady counts start once warm-ups and 1.5 periods are over and
 * last a period), intervals and medians per node, both modules at their
 * default 10 s interval:
 *
 * | N | module | full discovery | late joiner | msgs/interval | bytes/interval |
 * | --- | --- | --- | --- | --- | --- |
 * | 10 | official | 1.02 | 1.01 | 9.2 | 819 |
 * | 10 | ours | 0.12 | 0.13 | 4.6 | 1389 |
 * | 25 | official | 2.11 | 0.07 | 25.6 | 2278 |
 * | 25 | ours | 0.34 | 0.11 | 4.2 | 1268 |
 * | 50 | official | 3.14 | 0.29 | 49.0 | 4361 |
 * | 50 | ours | 1.11 | 0.06 | 5.4 | 1644 |
 *
 * At N = 50: every node knows every other 1.11 intervals after a
 * simultaneous start (target 2), a node joining later knows everyone after
 * 0.06 intervals (target 2), and each node receives 9.0x fewer steady
 * discovery messages than with the official module (target 5x); 2.7x fewer
 * bytes (our messages carry a ~200-byte signed record, so at N = 10 ours are
 * more bytes). With a 2 s interval (`--interval 2000`), where connection
 * set-up (noise, identify, gossipsub streams of 50 nodes on 2 cores: several
 * seconds) weighs more: N = 50 full discovery 2.76 intervals (official 7.10),
 * late joiner 0.12 (official 10.57), 9.7x fewer messages; N = 25: 1.78
 * (official 3.36), 4.7x.
 *
 * @example As a peer discovery module
 *
 * ```TypeScript
 * import { gossipsub } from '@libp2p/gossipsub'
 * import { identify } from '@libp2p/identify'
 * import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 * // ...transports, encrypters, muxers
 * peerDiscovery: [pubsubPeerDiscovery({ interval: 10_000 })],
 * services: { identify: identify(), pubsub: gossipsub() }
 * })
 *
 * node.addEventListener('peer:discovery', (evt) => console.info('found', evt.detail.id))
 * ```
 *
 * @example On a public topic, announcing only public addresses
 *
 * ```TypeScript
 * import { pubsubPeerDiscovery, publicAddressesOnly } from '@x/pubsub-peer-discovery'
 *
 * pubsubPeerDiscovery({ topics: ['my-app._peer-discovery'], addressFilter: publicAddressesOnly })
 * ```
 */

import { PubSubPeerDiscovery } from './discovery.ts'
import type { AddressFilter } from './address-filter.ts'
import type { PubSubLike } from './pubsub.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerDiscovery, PeerId, PeerStore, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'

export { TOPIC } from './constants.ts'
export { InvalidDiscoveryOptionError, PubSubNotFoundError } from './errors.ts'
export { publicAddressesOnly, allAddresses, scopedAddresses, addressScope } from './address-filter.ts'
export { PubSubPeerDiscovery } from './discovery.ts'
export { Peer } from './pb/peer.ts'
export type { AddressFilter, PubSubLike }
export type { AddressScope, AddressSource } from './address-filter.ts'
export type { PubSubMessage } from './pubsub.ts'
export type { DiscoveryMetrics } from './metrics.ts'
export type { DropReason } from './validate.ts'

export interface PubSubPeerDiscoveryInit {
  /**
   * The base interval, ms: the topic carries about `targetAnnouncements`
   * announcements per interval, and each node announces on average once every
   * ceil(N / targetAnnouncements) intervals
   *
   * @default 10000
   */
  interval?: number

  /**
   * Topics to announce on and listen to
   *
   * @default ['_peer-discovery._p2p._pubsub']
   */
  topics?: string[]

  /**
   * Listen and discover, never announce
   *
   * @default false
   */
  listenOnly?: boolean

  /**
   * Each scheduled delay moves randomly by up to this fraction of itself
   *
   * @default 0.1
   */
  jitter?: number

  /**
   * Announcements per interval the whole topic should carry
   *
   * @default 6
   */
  targetAnnouncements?: number

  /**
   * Our addresses are announced this long after they last changed, ms
   *
   * @default 1000
   */
  announceDebounce?: number

  /**
   * Messages larger than this are dropped, bytes; our announcements carrying
   * other peers' records stay within it too
   *
   * @default 16384
   */
  maxMessageSize?: number

  /**
   * Announcements with more addresses are dropped
   *
   * @default 64
   */
  maxAddresses?: number

  /**
   * Peers remembered at once (least recently heard forgotten first)
   *
   * @default 1024
   */
  maxPeers?: number

  /**
   * Signed records of other peers that an announcement carries when a peer
   * connected to us joins (peer exchange); 0 turns it off. Records are
   * relayed only for peers heard announcing themselves within their ttl
   *
   * @default 64
   */
  maxExchangedPeers?: number

  /**
   * Messages each author may send per interval on each topic; more are
   * dropped
   *
   * @default 4
   */
  rateLimit?: number

  /**
   * Accept messages without a gossipsub author (the announced key cannot be
   * checked then)
   *
   * @default false
   */
  allowUnsigned?: boolean

  /**
   * Which of our addresses to announce; `publicAddressesOnly` drops
   * loopback and private ones for public topics. Our signed record
   * certifies exactly the addresses we announce
   *
   * @default allAddresses
   */
  addressFilter?: AddressFilter

  /**
   * Which addresses of other peers (in announcements and relayed records)
   * we accept; the rest are dropped (counted in `filteredAddresses`). The
   * default accepts a loopback or private address only from a peer we
   * reach over loopback or a private address, and never an unspecified,
   * multicast, link-local or zoned one. `publicAddressesOnly` accepts
   * public addresses only
   *
   * @default scopedAddresses
   */
  incomingAddressFilter?: AddressFilter

  /**
   * Signature verifications of peer records per interval, node-wide; more
   * records are dropped (`over-budget`)
   *
   * @default 256
   */
  maxVerificationsPerInterval?: number

  /**
   * Peers we did not know that we accept per interval, node-wide; their
   * announcements beyond it are dropped (`over-budget`) until their next
   *
   * @default 128
   */
  maxNewPeersPerInterval?: number

  /**
   * Prefix of the names of the metrics registered with libp2p's `metrics`
   *
   * @default 'x_pubsub_discovery_'
   */
  metricsPrefix?: string

  /**
   * The key of the pubsub service. By default the service registered as
   * `pubsub` is used, else the one that declares `@libp2p/pubsub`
   */
  pubsubServiceName?: string
}

export interface PubSubPeerDiscoveryComponents {
  peerId: PeerId
  /** Signs our peer record; without it announcements carry none */
  privateKey?: PrivateKey
  /** Receives the certified addresses of peers' own records */
  peerStore?: PeerStore
  /** Tells whether a joining peer is connected to us */
  connectionManager?: ConnectionManager
  addressManager: AddressManager
  /** Tells us when our addresses change; without it a change goes out with our next announcement */
  events?: TypedEventTarget<Libp2pEvents>
  /**
   * The pubsub service, when registered under this key (the official
   * module's); otherwise the one named by `pubsubServiceName`, or the one
   * declaring the `@libp2p/pubsub` capability
   */
  pubsub?: PubSubLike
  logger: ComponentLogger
  metrics?: Metrics
}

export function pubsubPeerDiscovery (init: PubSubPeerDiscoveryInit = {}): (components: PubSubPeerDiscoveryComponents) => PeerDiscovery & PubSubPeerDiscovery {
  return (components) => new PubSubPeerDiscovery(components, init)
}
