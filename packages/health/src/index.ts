/**
 * @packageDocumentation
 *
 * Measures, scores and repairs every libp2p connection, and exports what it
 * sees as JSON and Prometheus text. Every `checkInterval` each open
 * connection gets a round trip on that very connection: a PING frame of its
 * muxer where the muxer has one (yamux), a ping stream elsewhere. The score
 * (0..1) weighs latency, probe success and failed streams; connections that
 * stay below `minHealthThreshold` are replaced, dead ones closed and their
 * peer re-dialled. Material changes are dispatched as `connection:health`
 * events (`@x/interface`), so `@x/connection-pool` routes by health without
 * importing this package. The README tells how each part works and what it
 * costs.
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
import type { LoopLag } from './loop-lag.ts'
import type { TimedError, TimedEvent } from './record.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ConnectionHealthSnapshot, ConnectionHealthState } from '@x/interface'

export { DeadConnectionError, InvalidHealthOptionError, PingMismatchError, PingUnsupportedError } from './errors.ts'
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

/**
 * How connections are probed: `muxer` a PING frame of the connection's muxer
 * (yamux), `stream` a ping stream; `auto` the muxer where it can, a ping
 * stream elsewhere, and a ping stream now and then on a connection that
 * carried no successful stream for a while
 */
export type { LoopLag }
export type ProbeMode = 'auto' | 'muxer' | 'stream'

/** What measured a connection last: a muxer PING frame, a ping stream, or the negotiation of a ping stream the remote refused */
export type ProbeKind = 'muxer' | 'stream' | 'negotiation'

export interface ConnectionHealthInit {
  /**
   * How connections are probed (see `ProbeMode`); a connection whose muxer
   * has no ping is probed with a ping stream whatever this says
   *
   * @default 'auto'
   */
  probe?: ProbeMode

  /**
   * The ping protocol is `/<protocolPrefix>/ping/1.0.0`, as in `@libp2p/ping`
   *
   * @default 'ipfs'
   */
  protocolPrefix?: string

  /**
   * Every metric name starts with this, so two instances do not collide
   *
   * @default 'x_health_'
   */
  metricsPrefix?: string

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
   * A probe without an answer within this is a failure, ms. When this
   * process's own event loop was stalled meanwhile (a starved host, a long
   * GC), the probe waits longer by the stalled time, up to twice this in
   * all; if it still had less than this of our awake time, it ends
   * `stalled` and is not counted against the connection (once in a row:
   * the next one counts, so a dead connection is still closed). See
   * `loopLag`.
   *
   * @default 5000
   */
  pingTimeout?: number

  /**
   * Where stalls of this process's event loop are measured (`now()`,
   * `stalled()`, `hold()`: see `LoopLag`); for tests, or to share a
   * measurement the application already makes
   *
   * @default timer drift sampled every 50 ms while probes are in flight
   */
  loopLag?: LoopLag

  /**
   * Probes in flight at once, however many connections; of them, one ping
   * stream per peer, unless the peer's probe is unanswered for 1 s (or half
   * of `pingTimeout`)
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
  /** What measured the connection last, undefined before the first answer */
  probe?: ProbeKind
  /** The remote refused a ping stream on this connection (it does not speak the ping protocol) */
  pingUnsupported: boolean
  probes: number
  probeFailures: number
  /** Probes not sent because another ping stream was in flight on the connection (not a check) */
  probesSkipped: number
  /** Stream probes the local muxer refused for its own stream cap, where no muxer ping could stand in (not a check) */
  probesBlocked: number
  /** Probes unanswered while this process was stalled (not a check; see `pingTimeout`) */
  probesStalled: number
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
  probesSkipped: number
  /** Probes unanswered while this process was stalled: not counted as failures (see `pingTimeout`) */
  probesStalled: number
  replacements: number
  /** Replacements no better than the connection they replaced (the peer's replacements are then held back) */
  futileReplacements: number
  /** Open connections whose remote refused a ping stream */
  pingUnsupported: number
}

export interface ConnectionHealth {
  getConnectionHealth(peer: PeerId): PeerHealth | undefined
  getNetworkHealthSummary(): NetworkHealthSummary
  exportHealthMetrics(format: 'json' | 'prometheus'): string
  /** SRTT + 4 x RTTVAR of the peer's best measured connection, bounded */
  getTimeout(peer: PeerId): number
  /**
   * Probes every open connection now (after a network change, or in tests)
   * and resolves when they were checked; a connection whose probe is in
   * flight is not probed twice. Does nothing while the service is stopped.
   */
  checkAll(): Promise<void>
}

export function connectionHealth (init: ConnectionHealthInit = {}): (components: ConnectionHealthComponents) => ConnectionHealth {
  return (components) => new HealthService(components, init)
}
