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
 *
 * ## Cost that stays flat as the topic grows
 *
 * Every announcement reaches every subscriber, so with N nodes each
 * announcing every interval (the official module) each node receives N - 1
 * messages per interval. Here a node announces once per period of
 * ceil(N / K) intervals at a random point of it (N estimated from the peers
 * heard, K = `targetAnnouncements`), so the topic carries about K
 * announcements per interval at any size. Peers count as unheard only after
 * several periods. A newcomer does not wait for the slow rhythm: a node
 * that hears a peer it did not know announces itself within half an
 * interval (once per interval, however many newcomers), and a node
 * announces every interval for its first three intervals, because gossip in
 * a large topic reaches only part of it at a time; so a late joiner
 * learns everyone within about one interval, and a swarm started at once
 * within two.
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
import type { ComponentLogger, Libp2pEvents, Metrics, PeerDiscovery, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'

export { TOPIC } from './constants.ts'
export { InvalidDiscoveryOptionError, PubSubNotFoundError } from './errors.ts'
export { publicAddressesOnly, allAddresses } from './address-filter.ts'
export { PubSubPeerDiscovery } from './discovery.ts'
export { Peer } from './pb/peer.ts'
export type { AddressFilter }
export type { DiscoveryMetrics } from './metrics.ts'
export type { DropReason } from './validate.ts'

export interface PubSubPeerDiscoveryInit {
  /**
   * The base interval, ms: the topic carries about `targetAnnouncements`
   * announcements per interval, and each node announces at least once every
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
   * Messages larger than this are dropped, bytes
   *
   * @default 8192
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
   * Messages each author may send per interval; more are dropped
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
   * loopback and private ones for public topics
   *
   * @default allAddresses
   */
  addressFilter?: AddressFilter

  /**
   * The key of the pubsub service, when more than one service offers
   * `@libp2p/pubsub`; by default the one that does is used
   */
  pubsubServiceName?: string
}

export interface PubSubPeerDiscoveryComponents {
  peerId: PeerId
  addressManager: AddressManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

export function pubsubPeerDiscovery (init: PubSubPeerDiscoveryInit = {}): (components: PubSubPeerDiscoveryComponents) => PeerDiscovery & PubSubPeerDiscovery {
  return (components) => new PubSubPeerDiscovery(components, init)
}
