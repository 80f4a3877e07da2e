/**
 * How long a refusal holds a peer's target down. A refused dial (a limit
 * that may pass within seconds: a rate or a count of pending handshakes)
 * holds it `REFUSAL_HOLD_START`, twice the last hold for each refusal in a
 * row, at most `REFUSAL_HOLD`; a connection closed at once after its dial
 * (the remote accepted it and then decided against it) holds it the whole
 * `REFUSAL_HOLD`. The streak ends when the peer accepts more connections
 * than it had at its last refusal, or `REFUSAL_STREAK_MEMORY` after its
 * hold ended. A record is four numbers: O(1) per peer.
 */
import { REFUSAL_HOLD, REFUSAL_HOLD_START, REFUSAL_STREAK_MEMORY } from './constants.ts'

/** How the remote refused: the dial failed, or the connection closed at once after it */
export type RefusalKind = 'dial' | 'close'

/** The remote's last refusal of an extra connection, and the hold it began */
export interface Refusal {
  /** When it refused, ms since the epoch */
  at: number

  /** How long the target stays lowered after `at`, ms */
  hold: number

  /** Connections the peer had open when it refused (the lowered target) */
  accepted: number

  /**
   * Whether the target is still the lowered one: `dial()` or maintenance
   * raises it once the hold ends, and the record stays for the streak
   */
  lowered: boolean
}

/** The refusal that follows `previous` (the same streak while it is remembered) */
export function nextRefusal (previous: Refusal | undefined, kind: RefusalKind, accepted: number, now: number): Refusal {
  let hold = REFUSAL_HOLD

  if (kind === 'dial') {
    hold = previous == null || !isRemembered(previous, now) ? REFUSAL_HOLD_START : Math.min(REFUSAL_HOLD, 2 * previous.hold)
  }

  return { at: now, hold, accepted, lowered: true }
}

/** Whether the refusal still holds the target down */
export function isHeld (refusal: Refusal | undefined, now: number): boolean {
  return refusal != null && refusal.lowered && now - refusal.at < refusal.hold
}

/** Whether a refusal after this one continues its streak */
export function isRemembered (refusal: Refusal, now: number): boolean {
  return now - refusal.at < refusal.hold + REFUSAL_STREAK_MEMORY
}
