/**
 * @packageDocumentation
 *
 * One view of a js-libp2p node's connectivity, and a dial strategy that uses
 * it. The service observes the event bus, the address manager and the
 * discovery modules (it imports none of them) and keeps:
 *
 * - every discovered peer with each mechanism that found it (`mdns`,
 * `pubsub`, `dht`, `bootstrap`, `other`) and when it was first and last seen;
 * - connections established and failed, active, direct vs relayed (from
 * `conn.direct` and `conn.limits`);
 * - relay reservations held and the NAT status (`public`, `private`,
 * `unknown`) from the addresses AutoNAT verified or failed in the address
 * manager, with the reason in a `connectivity:nat-status` event on change;
 * - how relayed connections became direct: `reversal` (the peer dialled us)
 * apart from `hole-punch` (after a DCUtR exchange on the relayed
 * connection), with DCUtR attempts, successes, failures and success rate.
 *
 * `dialPeer` dials direct addresses first for a bounded time, then the
 * relays the peer holds reservations on (from its circuit addresses), then
 * waits a bounded time for the peer's direct connection (a reversal or a
 * DCUtR hole punch).
 *
 * The service needs nothing but libp2p's interfaces. Whole `createLibp2p`
 * configurations with it (server, browser, private, development) are in
 * `@x/connectivity-presets`.
 *
 * @example Add the service to your own configuration
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { identify } from '@libp2p/identify'
 * import { universalConnectivity } from '@x/universal-connectivity'
 *
 * const node = await createLibp2p({
 *   // transports, encrypters, muxers, discovery...
 *   services: {
 *     identify: identify(),
 *     connectivity: universalConnectivity({
 *       onPeerDiscovered: ({ peer, mechanism }) => { console.info('%p via %s', peer, mechanism) },
 *       onConnectionEstablished: ({ peer, path }) => { console.info('%p over %s', peer, path) }
 *     })
 *   }
 * })
 * ```
 *
 * @example Dial with relay fallback and DCUtR upgrade
 *
 * ```TypeScript
 * const { connection, path, attempts } = await node.services.connectivity.dialPeerWithResult(peerId, {
 *   useRelay: true,
 *   signal: AbortSignal.timeout(30_000)
 * })
 * // path is 'direct', 'relay', 'reversal' or 'hole-punch'
 * ```
 */

import { UniversalConnectivity as UniversalConnectivityClass } from './connectivity.ts'
import type { DiscoveredPeer } from './discovery-tracker.ts'
import type { DialPeerOptions, DialResult } from './fallback-dialer.ts'
import type { ConnectivityMetrics } from './metrics.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Metrics, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionEstablishedEvent, DiscoveryMechanism, NatStatus, PeerDiscoveredEvent } from '@x/interface'

export { ConnectivityDialError, InvalidConnectivityOptionError, NoDialableAddressError, NotStartedError } from './errors.ts'
export type { DialAttempt, DialPeerOptions, DialResult } from './fallback-dialer.ts'
export type { DiscoveredPeer } from './discovery-tracker.ts'
export { METRIC_NAMES } from './metrics.ts'
export type { ConnectivityMetrics } from './metrics.ts'
export type { ConnectionStats } from './connection-tracker.ts'
export type { HolePunchStats } from './dcutr-tracker.ts'

export interface UniversalConnectivityInit {
  /**
   * Called when a mechanism finds a peer for the first time (the first
   * mechanism, and then each further one); repeats by the same mechanism are
   * counted but not reported. Also dispatched as `connectivity:peer-discovered`.
   *
   * @default undefined
   */
  onPeerDiscovered?(event: PeerDiscoveredEvent): void

  /**
   * Called for every connection opened, with the path it took. Also
   * dispatched as `connectivity:connection-established`.
   *
   * @default undefined
   */
  onConnectionEstablished?(event: ConnectionEstablishedEvent): void

  /**
   * How long `dialPeer` tries the direct addresses before falling back to a relay, ms
   *
   * @default 5000
   */
  directDialTimeout?: number

  /**
   * How long `dialPeer` tries each relay, ms
   *
   * @default 10000
   */
  relayDialTimeout?: number

  /**
   * How long `dialPeer` waits for DCUtR to upgrade a relayed connection, ms;
   * 0 returns the relayed connection at once
   *
   * @default 15000
   */
  upgradeTimeout?: number

  /**
   * How long after a relayed connection opens a direct connection to the same
   * peer still counts as its DCUtR upgrade, ms; a hole punch also needs the
   * DCUtR exchange to have been seen within the last 15 s (the dial after
   * SYNC)
   *
   * @default 30000
   */
  holePunchWindow?: number

  /**
   * The most relayed connections waiting for an upgrade at once
   *
   * @default 1000
   */
  maxPendingUpgrades?: number

  /**
   * The most discovered peers remembered; the least recently seen go first
   *
   * @default 5000
   */
  maxPeers?: number

  /**
   * The most relays `dialPeer` tries for one peer (each relay the peer holds
   * a reservation on is one attempt)
   *
   * @default 3
   */
  maxRelayAttempts?: number

  /**
   * How often the address manager is read again without an address event,
   * ms (AutoNAT drops an observed address it could not dial without one)
   *
   * @default 10000
   */
  natCheckInterval?: number

  /**
   * Mechanisms of discovery modules the service does not know, by their
   * `Symbol.toStringTag` (mDNS, bootstrap, kad-dht and both pubsub discovery
   * modules are known)
   *
   * @default {}
   */
  mechanisms?: Record<string, DiscoveryMechanism>

  /**
   * Prefix of the names of the metrics registered with libp2p's `metrics`
   * component (see `METRIC_NAMES`), so two instances in one process do not
   * collide
   *
   * @default 'x_connectivity_'
   */
  metricsPrefix?: string
}

export interface UniversalConnectivityComponents {
  peerId: PeerId
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  connectionManager: ConnectionManager
  addressManager: AddressManager
  peerStore: PeerStore
  /** `getHandler` and `handle` let the service see DCUtR exchanges the peer opens (it wraps the DCUtR handler while started) */
  registrar?: Pick<Registrar, 'getProtocols'> & Partial<Pick<Registrar, 'getHandler' | 'handle'>>
  metrics?: Metrics
}

export interface UniversalConnectivity {
  /** Counters and state, with `last_updated` */
  getMetrics(): ConnectivityMetrics

  /** Every remembered peer with the mechanisms that found it */
  getDiscoveredPeers(): DiscoveredPeer[]

  /** The discovery modules found among the node's components */
  getDiscoverySources(): Array<{ name: string, mechanism: DiscoveryMechanism }>

  /** `public`, `private` or `unknown` */
  getNatStatus(): NatStatus

  /**
   * Direct, then the relays the peer holds reservations on, then wait for its
   * direct connection (reversal or hole punch); resolves with the connection
   * to use. Rejects with the signal's reason (an `AbortError`) when aborted
   */
  dialPeer(peer: PeerId | Multiaddr | Multiaddr[], options?: DialPeerOptions): Promise<Connection>

  /** As `dialPeer`, resolving with the path taken and every attempt */
  dialPeerWithResult(peer: PeerId | Multiaddr | Multiaddr[], options?: DialPeerOptions): Promise<DialResult>
}

export function universalConnectivity (init: UniversalConnectivityInit = {}): (components: UniversalConnectivityComponents) => UniversalConnectivity {
  return (components) => new UniversalConnectivityClass(components, init)
}
