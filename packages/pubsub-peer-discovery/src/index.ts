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
 * - **Hostile peers held off**: every message passes one gate, registered
 * as gossipsub's topic validator (what we drop is not forwarded); replays
 * are caught by gossipsub's sequence number before any budget is charged;
 * addresses nobody can dial, and loopback or private ones from peers not on
 * our machine or network, are dropped; relayed records are taken only from
 * peers connected to us; node-wide budgets bound new peers and signature
 * checks per interval; only the peers a joiner is connected to answer it,
 * at most once an interval.
 * - **Bounded**: every table, queue and budget has a limit (PROTOCOL.md,
 * "Bounds"); bad input is dropped and counted by reason, never thrown.
 * `getMetrics()` reports every counter.
 * - **Quiet**: `peer` is emitted only for peers that are new, whose
 * addresses changed, or that were not heard for a while; never for us.
 * - **Cheap**: a node announces once per period of ceil(N / K) intervals
 * (K = `targetAnnouncements`), so the topic carries about K announcements
 * per interval whatever its size N; joining is faster (a warm-up, answers
 * from connected peers with the signed records of the peers they know).
 * - **`listenOnly` works**: such nodes discover peers (the official
 * module's never emit, as its started-check depends on the broadcast timer).
 * - **Found as the official module finds it, or by capability**: the
 * `pubsub` component (or `pubsubServiceName`), else the service declaring
 * `@libp2p/pubsub`; its `publish` may return a Promise or nothing.
 * - **Certified**: announcements carry the announcer's signed peer record
 * of exactly the addresses announced (extra field 3, skipped by the
 * official decoder); receivers verify it and store the certified addresses.
 *
 * The wire format, every rule and every bound are told once, in
 * PROTOCOL.md; the README has the measurements.
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
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { DNS } from '@multiformats/dns'

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
   * The longest period, in intervals, between our periodic announcements,
   * whatever the estimated topic size: keys that each announce twice count
   * as nodes, so this bounds how far a flood of them can slow every node's
   * announcements (PROTOCOL.md, S2). Topics of up to `maxPeriod *
   * targetAnnouncements` nodes are not affected; larger ones carry more
   * than `targetAnnouncements` announcements per interval
   *
   * @default 32
   */
  maxPeriod?: number

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
   * Peers remembered at once (least recently heard forgotten first, peers
   * not yet established before established ones: PROTOCOL.md R16)
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
   * checked then). Such a message counts as coming from a peer connected
   * to us (its relayed records taken, its loopback or private addresses
   * judged by our connection to it, its join answered) only when that very
   * peer delivered it to us; otherwise as from a peer we do not reach
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
   * public addresses only. A DNS name (`/dns`, `/dns4`, `/dns6`) this
   * filter keeps is then resolved, and kept only if every address it
   * resolves to passes the filter too; `/dnsaddr` names are dropped
   * (PROTOCOL.md, "Addresses", A4)
   *
   * @default scopedAddresses
   */
  incomingAddressFilter?: AddressFilter

  /**
   * How long the lookup of a DNS name in another peer's announcement or
   * record may take, ms; a name not resolved in time is dropped. At most
   * 32 lookups run at once, node-wide (a new one takes the slot of one
   * running for 500 ms, else its name is dropped), and at most
   * 8 distinct names of one announcement or record are looked up
   * (see `maxNameLookupsPerInterval`)
   *
   * @default 5000
   */
  nameResolutionTimeout?: number

  /**
   * DNS names in announcements and records of authors not connected to us
   * looked up per interval, node-wide (token bucket); authors connected to
   * us spend a node-wide budget of their own, twice as large (fresh keys
   * cannot crowd them out); each author also gets at most 8 per interval.
   * A name beyond either is dropped (its address is not emitted), not
   * queued, so no peer, nor any number of keys or connections, can make
   * this node send more than 3 times this many lookups per interval
   * (PROTOCOL.md, A4). The default covers a topic of about 128 peers
   * announcing names forming at once (each announces every interval while
   * warming up)
   *
   * @default 128
   */
  maxNameLookupsPerInterval?: number

  /**
   * Signature verifications of peer records per interval, node-wide; more
   * records are dropped (`over-budget`)
   *
   * @default 256
   */
  maxVerificationsPerInterval?: number

  /**
   * Peers we did not know that we accept per interval, node-wide; their
   * announcements beyond it are dropped (`over-budget`) until their next.
   * Authors we no longer hold whose seqno is established (heard twice
   * within their ttl) have an allowance of their own of as many, which
   * fresh keys cannot spend; a peer connected to us is accepted outside
   * both (our connections bound those) (PROTOCOL.md R9)
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
  /** Runs the direct exchange with peers we dial while joining (PROTOCOL.md D1-D5); without it, gossipsub alone carries announcements */
  registrar?: Registrar
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
  /**
   * Resolves DNS names in other peers' addresses before they are accepted
   * (libp2p's `dns` option); without it `@multiformats/dns`'s default
   * resolver for the platform
   */
  dns?: DNS
}

export function pubsubPeerDiscovery (init: PubSubPeerDiscoveryInit = {}): (components: PubSubPeerDiscoveryComponents) => PeerDiscovery & PubSubPeerDiscovery {
  return (components) => new PubSubPeerDiscovery(components, init)
}
