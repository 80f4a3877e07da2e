/**
 * @packageDocumentation
 *
 * Several connections per peer for js-libp2p, and a strategy that places
 * each new stream on one of them.
 *
 * js-libp2p keeps one connection per peer in practice: `dial` reuses the
 * first open connection and concurrent forced dials to one peer are merged.
 * This service opens up to `maxConnectionsPerPeer` connections one after
 * another (each with `force: true`), keeps them up (re-dialling with backoff
 * and jitter after one closes), closes surplus ones that stay idle, and opens
 * every stream on the connection the strategy picks. When opening a stream
 * fails because its connection closed, reset or timed out, the next
 * connection is tried (each at most once), and only then a new one dialled.
 *
 * `dial` and `newStream` take what `libp2p.dial` takes: a `PeerId`, a
 * `Multiaddr` (the peer from its `/p2p/` component, or learned from the
 * first connection when it has none) or a `Multiaddr[]` whose peer ids
 * agree. Anything else is an `InvalidParametersError`. One call opens at
 * most `maxConnectionsPerPeer` connections, so no input can make the pool
 * dial in a loop. Concurrent calls for the same addresses without a peer id
 * share one dial to learn the peer (each caller's signal aborts only its own
 * call), at most 32 such dials at once.
 *
 * Kept and borrowed peers. `dial(peer)` **keeps** the peer: it is tagged
 * (so the connection manager does not prune it), kept at
 * `maxConnectionsPerPeer` (at least `minConnectionsPerPeer`), re-dialled
 * after a connection closes, and held until `release(peer)` or `stop()`.
 * `newStream(peer)` to a peer the pool does not keep only **borrows** it, as
 * a drop-in for `libp2p.dialProtocol`: its open connections are used (one is
 * dialled if there is none), nothing is tagged or re-dialled, and the peer
 * is released after `idleTimeout` without a stream. At `maxPeers` the least
 * recently used idle borrowed peer makes room; only when every managed peer
 * is kept or busy does a new one get `PoolLimitReachedError`.
 *
 * Timeouts: a dial attempt gets `dialTimeout`, or longer when `@x/health`
 * measured a slow path (8 average RTTs plus 1 s: a TCP + noise + yamux
 * dial takes about four round trips; the average is the snapshot's
 * `rtt.ewma`). Opening a stream on one connection
 * gets `streamOpenTimeout`, or once `@x/health` has measured the path its
 * adaptive timeout (at least 3 average RTTs); that timeout is combined with
 * the caller's signal, so failover works with a signal too. An aborted call
 * rejects with the signal's reason and changes no status, target or tag.
 * Anyone can dispatch `connection:health`: an event with a missing, NaN,
 * infinite or negative figure is dropped (counted in
 * `invalidHealthEvents`), RTTs above 30 s and timeouts above 60 s are
 * clamped, timeouts below 1 s raised to 1 s; a `closed` event only drops
 * the figures kept for its connection.
 *
 * Strategies: `round-robin` (default), `least-loaded` (fewest open streams),
 * `health-based` (highest score from the latest `connection:health` events
 * that `@x/health` publishes), `latency-based` (lowest RTT from those events,
 * else `conn.rtt`), or a function of your own. Health- and latency-based
 * placement treat connections within a tolerance of the best as equal and
 * give the stream to the least loaded of them, so one good connection does
 * not take every stream, and a brand-new connection with no measurement is
 * assumed to be as good as the median of its siblings.
 *
 * Refusals. A peer with a connection open that refuses another is not
 * retried: its target drops to what it accepted (counted in
 * `dialRefusals`) for a hold. A failed dial (a reset or close, other than a
 * timeout) may be a limit that passes within seconds (js-libp2p's 5 inbound
 * connections per second per host, go-libp2p's connection rate limit), so
 * its hold starts at 6 s, doubles with each refusal in a row and is capped
 * at 10 minutes; the streak ends when an extra dial leaves the peer more
 * connections than it had at its last refusal. A connection the remote
 * closes within 1 s of its dial, before any stream (go-libp2p's resource
 * manager over its per-peer limit), is held 10 minutes. When a hold ends,
 * maintenance tops a kept peer up to its full target once, without another
 * `dial()`. Holds and streaks survive `release()`, for at most 1,024 peers.
 *
 * Connections to a pooled peer that something else opened are used for
 * streams too, but the pool only ever closes connections it opened itself.
 * Kept peers carry a peer-store tag (`x-connection-pool`, value 100) so the
 * connection manager does not prune them; a peer the pool gives up on loses
 * it.
 *
 * @example Keep three connections to a peer and spread streams over them
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { connectionPool } from '@x/connection-pool'
 *
 * const node = await createLibp2p({
 *   // ...transports, encrypters, muxers
 *   services: {
 *     pool: connectionPool({ maxConnectionsPerPeer: 3, strategy: 'least-loaded' })
 *   }
 * })
 *
 * // a PeerId, a Multiaddr such as '/ip4/192.0.2.1/tcp/4001/p2p/12D3KooW...', or a Multiaddr[]
 * const connections = await node.services.pool.dial(remote)
 * const stream = await node.services.pool.newStream(remote, '/echo/1.0.0')
 * ```
 *
 * @example Route by health, with `@x/health` in the same node
 *
 * ```TypeScript
 * import { connectionHealth } from '@x/health'
 *
 * const node = await createLibp2p({
 *   services: {
 *     health: connectionHealth(),
 *     pool: connectionPool({ strategy: 'health-based' })
 *   }
 * })
 * ```
 *
 * @example A strategy of your own
 *
 * ```TypeScript
 * const pool = connectionPool({
 *   // prefer connections over QUIC, else the first one
 *   strategy: (candidates) => candidates.find(c => c.connection.remoteAddr.toString().includes('/quic')) ?? candidates[0]
 * })
 * ```
 */

import { PoolService } from './pool.ts'
import type { PeerInput } from './peer-address.ts'
import type { Connection, ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, Stream, TypedEventTarget, AbortOptions, NewStreamOptions } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { PeerMap } from '@libp2p/peer-collections'
import type { ConnectionHealthSnapshot, PoolPeerStatus } from '@x/interface'

export { InvalidPoolOptionError, UnknownStrategyError, PeerDialFailedError, PoolLimitReachedError, NoConnectionAvailableError, PoolNotStartedError } from './errors.ts'
export { roundRobin, leastLoaded, healthBased, latencyBased } from './strategies.ts'
export type { PoolPeerStatus, PeerInput }
export { METRIC_NAMES } from './metrics.ts'

export type StrategyName = 'round-robin' | 'least-loaded' | 'health-based' | 'latency-based'

/** One connection the strategy may choose */
export interface ConnectionCandidate {
  connection: Connection

  /** Streams open on the connection now */
  openStreams: number

  /** The latest `connection:health` snapshot of this connection, if any */
  health?: ConnectionHealthSnapshot
}

export interface SelectionContext {
  peer: PeerId
  protocols: string[]

  /** Streams placed for this peer so far; strategies use it to rotate */
  counter: number
}

/** Picks the connection for the next stream from a non-empty list */
export type ConnectionSelector = (candidates: ConnectionCandidate[], context: SelectionContext) => ConnectionCandidate | undefined

export interface RetryOptions {
  /**
   * Retries after a failed dial attempt (so at most `maxRetries + 1`
   * attempts). A peer-id mismatch or a denied dial is never retried.
   *
   * @default 3
   */
  maxRetries?: number

  /**
   * Delay before the first retry, ms
   *
   * @default 500
   */
  initialDelay?: number

  /**
   * No delay exceeds this, jitter included, ms
   *
   * @default 10000
   */
  maxDelay?: number

  /**
   * Each retry waits this many times longer than the one before
   *
   * @default 2
   */
  backoffMultiplier?: number

  /**
   * Each delay moves randomly by up to this fraction of itself either way (0..1)
   *
   * @default 0.2
   */
  jitterFactor?: number
}

export interface ConnectionPoolInit {
  /**
   * `dial()` opens connections up to this many per peer, and the pool never
   * opens more
   *
   * @default 3
   */
  maxConnectionsPerPeer?: number

  /**
   * The pool keeps at least this many connections open to every peer it
   * manages; idle expiry never goes below it. A peer that refused more is
   * kept at what it accepted while the refusal holds: from 6 s for a
   * refused dial, doubling with each refusal in a row up to 10 minutes;
   * 10 minutes for a connection closed at once after its dial
   *
   * @default 1
   */
  minConnectionsPerPeer?: number

  /**
   * Most connections to pooled peers, all peers together; dials beyond it
   * are not made
   *
   * @default 300
   */
  maxConnections?: number

  /**
   * Most peers the pool manages at once, kept and borrowed together. One
   * more releases the least recently used idle borrowed peer; when every
   * peer is kept or busy, `dial()` and `newStream()` to a new peer throw
   * `PoolLimitReachedError` (release kept peers with `release()`)
   *
   * @default 1000
   */
  maxPeers?: number

  /**
   * How the connection for each new stream is chosen
   *
   * @default 'round-robin'
   */
  strategy?: StrategyName | ConnectionSelector

  /**
   * Health scores within this of the best count as equal (`health-based`)
   *
   * @default 0.05
   */
  scoreTolerance?: number

  /**
   * RTTs within this many ms of the best, or within `latencyToleranceRatio`
   * of it, whichever is larger, count as equal (`latency-based`)
   *
   * @default 5
   */
  latencyToleranceMs?: number

  /**
   * @default 0.1
   */
  latencyToleranceRatio?: number

  /**
   * Timeout of one dial attempt, ms. When `@x/health` has measured the
   * peer's RTT, an attempt may take longer on a slow path (8 average RTTs,
   * `rtt.ewma`, plus 1 s), never less.
   *
   * @default 10000
   */
  dialTimeout?: number

  /**
   * Timeout of opening one stream on one connection before failing over to
   * the next, ms; combined with the caller's signal when there is one. When
   * `@x/health` has measured the peer, its adaptive timeout (at least 3
   * average RTTs) is used instead.
   *
   * @default 10000
   */
  streamOpenTimeout?: number

  /**
   * A connection the pool opened to a kept peer that carried no stream for
   * this long is closed, as long as the peer keeps `minConnectionsPerPeer`;
   * a borrowed peer with no stream for this long is released, ms
   *
   * @default 300000
   */
  idleTimeout?: number

  /**
   * How often idle expiry and the per-peer minimum are checked, ms
   *
   * @default 10000
   */
  maintenanceInterval?: number

  /** Dial retries */
  retry?: RetryOptions

  /**
   * Peer-store tag that protects pooled peers from the connection manager's
   * pruning
   *
   * @default 'x-connection-pool'
   */
  tagName?: string

  /**
   * @default 100
   */
  tagValue?: number

  /**
   * Dispatch `pool:stream` for every stream opened, even when no service on
   * the event bus listens for it. Failed attempts are always dispatched;
   * successful ones only when a service listens (as `@x/health` does) or
   * this is true, because an event per stream is most of the cost of opening
   * one on a fast link. Set it to listen on the node yourself.
   *
   * @default false
   */
  reportStreams?: boolean

  /**
   * Prefix of the names of the metrics registered with libp2p's `metrics`
   * component, so two pools in one process do not collide
   *
   * @default 'x_connection_pool_'
   */
  metricsPrefix?: string
}

export interface ConnectionPoolComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

export interface PoolMetrics {
  /** Peers the pool manages, kept and borrowed */
  peers: number

  /** Of those, peers kept by `dial()` */
  keptPeers: number

  /** Open connections to those peers */
  connections: number

  /** Open connections per peer id */
  connectionsPerPeer: Record<string, number>

  streamsOpened: number

  /** Streams opened per second over the last 10 s */
  streamsPerSecond: number

  /** Attempts to open a stream on a connection that failed */
  streamFailures: number

  /** Streams that succeeded on another connection after one failed */
  failovers: number

  dialAttempts: number
  dialSuccesses: number
  dialFailures: number
  dialRetries: number

  /** Extra connections a reachable peer refused (closed at once, or failed other than by a timeout) */
  dialRefusals: number

  /** Dials not made because the pool held `maxConnections` */
  limitedDials: number

  /** Borrowed peers released to make room at `maxPeers` */
  evictions: number

  /**
   * `connection:health` events dropped because a figure was missing, not a
   * number, NaN, infinite or negative (huge ones are clamped, not dropped),
   * or because the event named a managed peer and a connection that is not
   * one of its open connections
   */
  invalidHealthEvents: number

  /** Time to open a stream through the pool, over the last 1,024 streams, ms */
  streamOpenTime: { average: number, p95: number, samples: number }

  /** Estimated bytes held by the pool's own bookkeeping */
  bookkeepingBytes: number
}

export interface PoolNewStreamOptions extends NewStreamOptions {}

export interface ConnectionPool {
  /**
   * Keeps the peer: opens connections to it up to `maxConnectionsPerPeer`
   * (one after another, at most that many in this call) and returns the
   * open ones. The pool tags it and keeps it up until `release()`.
   */
  dial(peer: PeerInput, options?: AbortOptions): Promise<Connection[]>

  /**
   * Opens a stream on the connection the strategy picks, failing over to
   * the others and then to one new connection. A peer the pool does not
   * keep is only borrowed (see the module docs).
   */
  newStream(peer: PeerInput, protocols: string | string[], options?: PoolNewStreamOptions): Promise<Stream>

  /** One peer's open pooled connections, or those of every pooled peer */
  getConnections(peer?: PeerId): Connection[]

  getConnectionsMap(): PeerMap<Connection[]>

  /** The connection `newStream` would pick now */
  getConnection(peer: PeerId): Connection | undefined

  getStatus(peer: PeerId): PoolPeerStatus | undefined

  getMetrics(): PoolMetrics

  /** Stops managing the peer: closes the connections the pool opened to it and removes its tag */
  release(peer: PeerId, options?: AbortOptions): Promise<void>
}

export function connectionPool (init: ConnectionPoolInit = {}): (components: ConnectionPoolComponents) => ConnectionPool {
  return (components) => new PoolService(components, init)
}
