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
 * Strategies: `round-robin` (default), `least-loaded` (fewest open streams),
 * `health-based` (highest score from the latest `connection:health` events
 * that `@x/health` publishes), `latency-based` (lowest RTT from those events,
 * else `conn.rtt`), or a function of your own. Health- and latency-based
 * placement treat connections within a tolerance of the best as equal and
 * give the stream to the least loaded of them, so one good connection does
 * not take every stream, and a brand-new connection with no measurement is
 * assumed to be as good as the median of its siblings.
 *
 * Connections to a pooled peer that something else opened are used for
 * streams too, but the pool only ever closes connections it opened itself.
 * Pooled peers carry a peer-store tag (`x-connection-pool`, value 100) so the
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
 * const connections = await node.services.pool.dial(remotePeerId)
 * const stream = await node.services.pool.newStream(remotePeerId, '/echo/1.0.0')
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
import type { Connection, ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, Stream, TypedEventTarget, AbortOptions, NewStreamOptions } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { PeerMap } from '@libp2p/peer-collections'
import type { ConnectionHealthSnapshot, PoolPeerStatus } from '@x/interface'

export { InvalidPoolOptionError, UnknownStrategyError, PeerDialFailedError, PoolLimitReachedError, NoConnectionAvailableError, PoolNotStartedError } from './errors.ts'
export { backoffDelay, isRetryable } from './retry.ts'
export { roundRobin, leastLoaded, healthBased, latencyBased } from './strategies.ts'
export type { PoolPeerStatus }

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
   * manages; idle expiry never goes below it
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
   * Most peers the pool manages at once; `dial()` to one more throws
   * `PoolLimitReachedError` (release peers with `release()`)
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
   * Timeout of one dial attempt, ms. When `@x/health` runs, the adaptive
   * timeout it publishes for the peer is used instead.
   *
   * @default 10000
   */
  dialTimeout?: number

  /**
   * Timeout of opening one stream on one connection before failing over to
   * the next, ms (when the caller passes no signal of its own). When
   * `@x/health` runs, its adaptive timeout for the peer is used instead.
   *
   * @default 10000
   */
  streamOpenTimeout?: number

  /**
   * A connection the pool opened that carried no stream for this long is
   * closed, as long as the peer keeps `minConnectionsPerPeer`, ms
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
}

export interface ConnectionPoolComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

export interface PoolMetrics {
  /** Peers the pool manages */
  peers: number

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

  /** Extra connections a reachable peer (or our own limits) refused */
  dialRefusals: number

  /** Time to open a stream through the pool, over the last 1,024 streams, ms */
  streamOpenTime: { average: number, p95: number, samples: number }

  /** Estimated bytes held by the pool's own bookkeeping */
  bookkeepingBytes: number
}

export interface PoolNewStreamOptions extends NewStreamOptions {}

export interface ConnectionPool {
  /** Opens connections to the peer up to `maxConnectionsPerPeer` and returns the open ones */
  dial(peer: PeerId, options?: AbortOptions): Promise<Connection[]>

  /** Opens a stream on the connection the strategy picks, failing over to the others */
  newStream(peer: PeerId, protocols: string | string[], options?: PoolNewStreamOptions): Promise<Stream>

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
