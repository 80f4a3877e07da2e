import type { PeerId } from '@libp2p/interface'

/**
 * Status of a peer managed by the connection pool.
 *
 * - `connecting`: a dial is under way and no pooled connection is open
 * - `connected`: at least one pooled connection is open
 * - `disconnected`: no connection is open and none is being dialled
 * - `failed`: dialling gave up after the configured retries
 */
export type PoolPeerStatus = 'connected' | 'connecting' | 'disconnected' | 'failed'

/** Payload of the `pool:status` event */
export interface PoolStatusChange {
  peer: PeerId
  status: PoolPeerStatus
  previous?: PoolPeerStatus
  /** Open pooled connections to the peer after the change */
  connections: number
}

/** Payload of the `pool:stream` event */
export interface PoolStreamOutcome {
  peer: PeerId
  connectionId: string
  protocol: string
  outcome: 'opened' | 'failed'
  /** `err.name` when the outcome is `failed` */
  error?: string
  /** Time spent opening the stream, ms */
  duration: number
  /** True when this connection was tried after another one failed */
  failover: boolean
}
