/**
 * Refusals outlive the peer's entry: `release()`, idle expiry and eviction
 * drop the entry, and a new one made by the next `dial()` would ask for
 * `maxConnectionsPerPeer` again: one refused dial per release, however
 * recently the remote refused. The lowered target is kept here until
 * `REFUSAL_HOLD` after the refusal, for at most `MAX_REFUSAL_HOLDS` peers
 * (the oldest refusal is forgotten first).
 */
import { MAX_REFUSAL_HOLDS, REFUSAL_HOLD } from './constants.ts'
import type { PeerEntry } from './peer-entry.ts'

/** Estimated bytes of one hold: the peer id string, two numbers, the map slot */
export const REFUSAL_HOLD_BYTES = 160

interface RefusalHold {
  refusedAt: number
  target: number
}

export class RefusalHolds {
  private readonly holds = new Map<string, RefusalHold>()

  /** Keeps the entry's lowered target when its refusal is still held */
  keep (entry: PeerEntry, now: number): void {
    if (entry.refusedAt == null || now - entry.refusedAt >= REFUSAL_HOLD) {
      return
    }

    const key = entry.peer.toString()
    this.holds.delete(key)

    if (this.holds.size >= MAX_REFUSAL_HOLDS) {
      // the oldest refusal ends first (expired ones are the oldest): a scan
      // of at most MAX_REFUSAL_HOLDS, only when full
      let oldest: string | undefined
      let oldestAt = Infinity

      for (const [peer, hold] of this.holds) {
        if (hold.refusedAt < oldestAt) {
          oldest = peer
          oldestAt = hold.refusedAt
        }
      }

      if (oldest != null) {
        this.holds.delete(oldest)
      }
    }

    this.holds.set(key, { refusedAt: entry.refusedAt, target: entry.target })
  }

  /** Gives a new entry for a peer the refusal held for it, if any */
  restore (entry: PeerEntry, now: number): void {
    const key = entry.peer.toString()
    const hold = this.holds.get(key)

    if (hold == null) {
      return
    }

    this.holds.delete(key)

    if (now - hold.refusedAt < REFUSAL_HOLD) {
      // what the peer accepted, below minConnectionsPerPeer too
      entry.refusedAt = hold.refusedAt
      entry.target = hold.target
    }
  }

  get size (): number {
    return this.holds.size
  }

  clear (): void {
    this.holds.clear()
  }
}
