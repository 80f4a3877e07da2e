/**
 * @packageDocumentation
 *
 * Measures, scores and repairs every libp2p connection, and exports what it
 * sees as JSON and Prometheus text. Nothing changes for nodes that do not
 * add it.
 *
 * Every `checkInterval` (jittered), each open connection - busy or idle,
 * direct or relayed - gets a real `/ipfs/ping/1.0.0` round trip on that very
 * connection, at most `maxConcurrentProbes` at once and one per peer at a
 * time (go-libp2p resets a peer's third concurrent inbound ping stream; a
 * probe unanswered for 1 s lets the peer's next one start). A peer that does not
 * speak ping answers the protocol negotiation instead, which takes one round
 * trip: that counts as an answered probe and its time as the RTT. Per connection it keeps
 * RTT (last, EWMA, min, p50/p95 of the last 64), a decayed probe success
 * rate, outcomes of every outbound stream opened on it (observed on the
 * connection, whoever opens it), bytes in and out
 * with rates over 10 s / 1 min / 5 min and the peak second, the last 32
 * errors and the last 32 lifecycle events (opened, degraded, recovered,
 * replaced, closed). Everything is bounded: a record takes about 2.9 KB
 * (two `Float64Array`s for RTT and byte buckets; histories allocated on
 * their first entry), and each probe opens a new ping stream (both js-libp2p
 * and go-libp2p close a ping stream kept open 10 s), about 0.5 ms of CPU:
 * about 5 % of a core for 1,000 connections at the default interval.
 *
 * The score (0..1) is a weighted mean of latency, success rate and
 * stability, each 0.5 exactly at its configured threshold (`maxPingLatency`,
 * `minPingSuccessRate`, `maxFailedStreams`); past a threshold the score is
 * capped by that component. A connection below `minHealthThreshold` is
 * `degraded`; after `unhealthyChecksBeforeReplace` consecutive checks it is
 * `unhealthy` and replaced: a new connection is dialled first, the old one
 * closed once its streams drained (or `replaceGrace` passed), never below
 * `minConnectionsPerPeer` and never for peers tagged `x-health-protected`.
 * One failed probe never does it (the success rate decays by 5 % a probe,
 * so random loss moves it slowly); two unanswered probes in a row zero the
 * success component at once, so a silent connection is degraded within two
 * checks. A connection that fails every probe and every
 * stream is closed even when it is the last, and its peer re-dialled.
 *
 * Material changes (state, score moving by 0.05, or RTT EWMA moving by 20 %
 * and at least 10 ms) are dispatched as
 * `connection:health` events (`@x/interface`), with the peer's adaptive
 * timeout (SRTT + 4 x RTTVAR, bounded by `minTimeout`..`maxTimeout`), so
 * `@x/connection-pool` routes and times out by health without importing
 * this package.
 *
 * ## libp2p's own connection monitor
 *
 * js-libp2p's connection monitor pings the same protocol, and `@libp2p/ping`
 * allows one outbound ping stream per connection: when both run, a probe
 * that meets the monitor's ping is counted as skipped, but the monitor
 * aborts the connection when its own ping is refused. Disable it when this
 * service runs (`connectionMonitor: { enabled: false }`): this service
 * measures the same RTT (and sets `conn.rtt`) and acts on it with more care.
 * Raising the ping service's `maxOutboundStreams` is not enough, because the
 * monitor starts a ping every interval without waiting for the last one.
 *
 * @example
 *
 * ```TypeScript
 * import { connectionHealth } from '@x/health'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   // ...transports, encrypters, muxers
 *   connectionMonitor: { enabled: false },
 *   services: {
 *     health: connectionHealth({ checkInterval: 10_000, maxPingLatency: 500 })
 *   }
 * })
 *
 * node.addEventListener('connection:health', (evt) => {
 *   console.info('%s %s %d', evt.detail.connectionId, evt.detail.state, evt.detail.score)
 * })
 *
 * console.info(node.services.health.exportHealthMetrics('prometheus'))
 * ```
 */

import { HealthService } from './health.ts'
import type { ByteRates } from './bytes.ts'
import type { TimedError, TimedEvent } from './record.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ConnectionHealthSnapshot, ConnectionHealthState } from '@x/interface'

export { InvalidHealthOptionError, PingMismatchError, PingUnsupportedError } from './errors.ts'
export { score, latencyComponent, successComponent, stabilityComponent } from './score.ts'
export type { ByteRates, TimedError, TimedEvent }

export interface HealthWeights {
  /** @default 0.4 */
  latency?: number
  /** @default 0.4 */
  successRate?: number
  /** @default 0.2 */
  stability?: number
}

export interface ConnectionHealthInit {
  /**
   * How often every connection is probed, ms
   *
   * @default 10000
   */
  checkInterval?: number

  /**
   * Each interval moves randomly by up to this fraction (0..0.99)
   *
   * @default 0.2
   */
  checkJitter?: number

  /**
   * A probe without an answer within this is a failure, ms
   *
   * @default 5000
   */
  pingTimeout?: number

  /**
   * Probes in flight at once, however many connections; one of them per
   * peer, unless the peer's probe is unanswered for 1 s (or half of
   * `pingTimeout`)
   *
   * @default 16
   */
  maxConcurrentProbes?: number

  /**
   * Below this score a connection is degraded (0..1)
   *
   * @default 0.5
   */
  minHealthThreshold?: number

  /**
   * Replacement never leaves a peer with fewer connections
   *
   * @default 1
   */
  minConnectionsPerPeer?: number

  /**
   * The EWMA RTT at which the latency component is 0.5, ms
   *
   * @default 1000
   */
  maxPingLatency?: number

  /**
   * The success rate at which its component is 0.5 (0..1)
   *
   * @default 0.8
   */
  minPingSuccessRate?: number

  /**
   * Failed streams in 5 minutes at which the stability component reaches
   * its threshold (0.5); failed probes count in the success rate instead
   *
   * @default 10
   */
  maxFailedStreams?: number

  /**
   * Consecutive checks below the threshold before replacing
   *
   * @default 3
   */
  unhealthyChecksBeforeReplace?: number

  /**
   * Replace unhealthy connections (false: only measure and report)
   *
   * @default true
   */
  replaceUnhealthy?: boolean

  /**
   * How long a replaced connection may finish its streams, ms
   *
   * @default 10000
   */
  replaceGrace?: number

  /**
   * Peers with this peer-store tag are never touched
   *
   * @default 'x-health-protected'
   */
  protectedTag?: string

  /**
   * Bounds of the adaptive timeout, ms
   *
   * @default 1000
   */
  minTimeout?: number

  /**
   * @default 30000
   */
  maxTimeout?: number

  /**
   * Weights of the score components; normalised to sum to 1, each >= 0
   */
  weights?: HealthWeights
}

export interface ConnectionHealthComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** Everything known about one connection */
export interface ConnectionHealthReport extends ConnectionHealthSnapshot {
  age: number
  probes: number
  probeFailures: number
  /** Probes not sent because another ping was in flight on the connection */
  probesSkipped: number
  streamsOpened: number
  streamsFailed: number
  openStreams: number
  bytesIn: number
  bytesOut: number
  rates: ByteRates
  errors: TimedError[]
  events: TimedEvent[]
}

export interface PeerHealth {
  peer: PeerId
  /** The best connection's score */
  score: number
  connections: ConnectionHealthReport[]
  adaptiveTimeout: number
}

export interface NetworkHealthSummary {
  peers: number
  connections: number
  averageScore: number
  /** Connections degraded or unhealthy */
  unhealthy: number
  worst: Array<{ peer: string, connectionId: string, score: number, state: ConnectionHealthState }>
  probes: number
  probeFailures: number
  replacements: number
}

export interface ConnectionHealth {
  getConnectionHealth(peer: PeerId): PeerHealth | undefined
  getNetworkHealthSummary(): NetworkHealthSummary
  exportHealthMetrics(format: 'json' | 'prometheus'): string
  /** SRTT + 4 x RTTVAR of the peer's best measured connection, bounded */
  getTimeout(peer: PeerId): number
  /** Probes every connection now (tests, or after a network change) */
  checkAll(): Promise<void>
}

export function connectionHealth (init: ConnectionHealthInit = {}): (components: ConnectionHealthComponents) => ConnectionHealth {
  return (components) => new HealthService(components, init)
}
