/**
 * Refusals outlive the peer's entry: `release()`, idle expiry and eviction
 * drop the entry, and a new one made by the next `dial()` would ask for
 * `maxConnectionsPerPeer` again (one refused dial per release, however
 * recently the remote refused) and start the refusal streak again (the
 * short first hold each time). The peer's last refusal (its hold and
 * streak) and lowered target are kept here while the streak is remembered,
 * for at most `MAX_REFUSAL_HOLDS` peers (the oldest refusal is forgotten
 * first).
 */
import { MAX_REFUSAL_HOLDS } from './constants.ts'
import { isHeld, isRemembered } from './refusal.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { Refusal } from './refusal.ts'

/** Estimated bytes of one hold: the peer id string, five fields, the map slot */
export const REFUSAL_HOLD_BYTES = 200

interface RefusalHold {
  refusal: Refusal
  target: number
}

export class RefusalHolds {
  private readonly holds = new Map<string, RefusalHold>()

  /** Keeps the entry's last refusal (and lowered target) while its streak is remembered */
  keep (entry: PeerEntry, now: number): void {
    if (entry.refusal == null || !isRemembered(entry.refusal, now)) {
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
        if (hold.refusal.at < oldestAt) {
          oldest = peer
          oldestAt = hold.refusal.at
        }
      }

      if (oldest != null) {
        this.holds.delete(oldest)
      }
    }

    this.holds.set(key, { refusal: { ...entry.refusal }, target: entry.target })
  }

  /** Gives a new entry for a peer its last refusal, and the lowered target while it holds */
  restore (entry: PeerEntry, now: number): void {
    const key = entry.peer.toString()
    const hold = this.holds.get(key)

    if (hold == null) {
      return
    }

    this.holds.delete(key)

    if (!isRemembered(hold.refusal, now)) {
      return
    }

    entry.refusal = hold.refusal

    if (isHeld(hold.refusal, now)) {
      // what the peer accepted, below minConnectionsPerPeer too
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
