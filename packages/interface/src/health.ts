import type { PeerId } from '@libp2p/interface'

/**
 * The state of one connection as the health service sees it.
 *
 * - `healthy`: score at or above the threshold
 * - `degraded`: score below the threshold, not yet for long enough to act
 * - `unhealthy`: below the threshold for the configured number of checks, so
 * the connection is being (or will be) replaced
 * - `closed`: the connection is gone; this is the last snapshot for it
 */
export type ConnectionHealthState = 'healthy' | 'degraded' | 'unhealthy' | 'closed'

/**
 * Round trip times measured by ping probes on one connection, in
 * milliseconds. Percentiles are over a bounded window of recent probes.
 */
export interface RttSummary {
  last: number
  ewma: number
  min: number
  p50: number
  p95: number
  samples: number
}

/**
 * Payload of the `connection:health` event: what a router needs to prefer
 * one connection over another. Dispatched when a connection's snapshot
 * changes materially (state change, score moved by more than the service's
 * reporting step, first measurement, close).
 */
export interface ConnectionHealthSnapshot {
  /** The remote peer */
  peer: PeerId

  /** `Connection.id` of the measured connection */
  connectionId: string

  /** Overall health, 0 (worst) to 1 (best) */
  score: number

  state: ConnectionHealthState

  /** Undefined until the first successful probe */
  rtt?: RttSummary

  /** Decayed probe success rate, 0..1 */
  successRate: number

  /** Stability from the recent error rate, 0..1 */
  stability: number

  /** Whether the connection is relayed (has limits) */
  limited: boolean

  /**
   * The adaptive timeout for this peer in ms (SRTT + 4 x RTTVAR, bounded),
   * so that other services can size dial and stream timeouts without
   * depending on `@x/health`
   */
  adaptiveTimeout: number

  /** When the snapshot was taken, ms since the epoch */
  timestamp: number
}
