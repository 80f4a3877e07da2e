/**
 * What the pool remembers about one peer it manages.
 */
import type { PeerId } from '@libp2p/interface'
import type { PoolPeerStatus } from '@x/interface'

export interface PeerEntry {
  peer: PeerId
  status: PoolPeerStatus

  /** How many connections the pool keeps to this peer (between min and max) */
  target: number

  /** Streams placed so far; strategies rotate on it */
  counter: number

  /** Ids of the connections this pool opened (the only ones it closes) */
  opened: Set<string>

  /** The top-up under way, so dials to one peer never run concurrently */
  dialing?: Promise<void>

  /** A re-dial scheduled after a connection closed */
  redialTimer?: ReturnType<typeof setTimeout>

  /** Consecutive re-dials that found the peer below its target */
  redials: number

  /** Latest adaptive timeout from `connection:health`, ms */
  adaptiveTimeout?: number
}

/**
 * Bytes of one peer entry and of one connection id tracked in one of the
 * pool's maps, calibrated against the heap measurement of
 * `bench/pool/scale.ts` (about 800 bytes per connection at 10 per peer)
 */
export const PEER_ENTRY_BYTES = 1024
export const CONNECTION_ENTRY_BYTES = 256

export function createPeerEntry (peer: PeerId, target: number): PeerEntry {
  return {
    peer,
    status: 'disconnected',
    target,
    counter: 0,
    opened: new Set(),
    redials: 0
  }
}
