/**
 * What the pool remembers about one peer it manages.
 */
import type { Refusal } from './refusal.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PoolPeerStatus } from '@x/interface'

export interface PeerEntry {
  peer: PeerId
  status: PoolPeerStatus

  /**
   * `dial()` was called for it: tagged, kept at its target, re-dialled, held
   * until `release()`. Otherwise the peer is only borrowed by `newStream()`:
   * no tag, no re-dials, released when idle or to make room.
   */
  kept: boolean

  /** Whether the pool's peer-store tag is set */
  tagged: boolean

  /** How many connections the pool keeps to this peer (between min and max) */
  target: number

  /**
   * The remote's last refusal of an extra connection: the target stays at
   * what it accepted for the refusal's hold, and the next refusal in a row
   * holds it twice as long (`refusal.ts`)
   */
  refusal?: Refusal

  /** Streams placed so far; strategies rotate on it */
  counter: number

  /** When a stream was last placed on, or seen open on, one of its connections */
  lastUsed: number

  /**
   * The connections this pool opened (the only ones it closes), each with
   * the time its dial completed
   */
  opened: Map<string, number>

  /** The caller's addresses (at most `MAX_ADDRESSES_PER_CALL`, with `/p2p/`), dialled instead of the peer store's */
  addrs: Multiaddr[]

  /**
   * Addresses without a peer id that callers reached this peer at (the
   * `/p2p/`-less string of each), so a call by any of them finds the peer
   * without a learning dial however calls alternate between spellings; at
   * most `MAX_ADDRESS_SPELLINGS`, the oldest forgotten first
   */
  spellings: Set<string>

  /** The top-up under way, so dials to one peer never run concurrently */
  dialing?: Promise<void>

  /** A re-dial scheduled after a connection closed */
  redialTimer?: ReturnType<typeof setTimeout>

  /** Re-dials since a connection to the peer last stayed up `REDIAL_STABLE_AFTER`; the backoff grows with it */
  redials: number

  /** Latest adaptive timeout from `connection:health` (about one RTT), checked and clamped, ms */
  adaptiveTimeout?: number

  /**
   * Latest average RTT from `connection:health` (`rtt.ewma`: `@x/health`'s
   * exponentially weighted moving average of its probes, not RFC 6298's
   * SRTT, which only its adaptive timeout uses), checked and clamped, ms
   */
  rttAverage?: number

  /** Aborted when the pool lets the peer go (`release()`, eviction, `stop()`) */
  controller: AbortController
}

/**
 * Bytes of one peer entry and of one connection id tracked in one of the
 * pool's maps, calibrated against the heap measurement of
 * `bench/pool/scale.ts` (about 800 bytes per connection at 10 per peer)
 */
export const PEER_ENTRY_BYTES = 1024
export const CONNECTION_ENTRY_BYTES = 256

/**
 * Bytes of one of the caller's addresses kept in `addrs` (a `Multiaddr`
 * with `/p2p/` measures 1.9 to 2.4 KB of heap) and of one spelling (a
 * string of about 40 characters in a set: about 100 bytes)
 */
export const ADDRESS_BYTES = 2048
export const SPELLING_BYTES = 128

export function createPeerEntry (peer: PeerId, target: number, now: number): PeerEntry {
  return {
    peer,
    status: 'disconnected',
    kept: false,
    tagged: false,
    target,
    counter: 0,
    lastUsed: now,
    opened: new Map(),
    addrs: [],
    spellings: new Set(),
    redials: 0,
    controller: new AbortController()
  }
}
