/**
 * Counts DCUtR (hole punching) attempts and outcomes from what can be seen on
 * the event bus: js-libp2p's `@libp2p/dcutr` dispatches nothing and swallows
 * its last failure, so an attempt is inferred:
 *
 * - it starts when a relayed connection opens to a peer we have no direct
 * connection to (and is dropped, uncounted, if identify then shows the
 * peer does not speak `/libp2p/dcutr`, or we do not);
 * - it succeeds when a direct connection to that peer opens within `window`;
 * - it fails when `window` passes, or every relayed connection to the peer
 * closes, without one.
 *
 * Bounded: at most `maxPending` attempts wait at once (the oldest is settled
 * as a failure to make room) and the last `maxHistory` outcomes are kept.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { HolePunchOutcome } from '@x/interface'

interface PendingUpgrade {
  peer: PeerId
  startedAt: number
  timer: ReturnType<typeof setTimeout>
  relayed: Set<string>
}

export interface DCUtRTrackerInit {
  window: number
  maxPending: number
  maxHistory: number
  now(): number
  onOutcome(outcome: HolePunchOutcome): void
}

export interface HolePunchStats {
  attempts: number
  successes: number
  failures: number
  pending: number
  /** successes / attempts, or null before the first settled attempt */
  successRate: number | null
  /** Median time from the relayed connection to the direct one, ms, over the kept history */
  medianTimeToDirect: number | null
  recent: Array<{ peer: string, success: boolean, duration: number, at: number }>
}

export class DCUtRTracker {
  private readonly init: DCUtRTrackerInit
  private readonly pending = new Map<string, PendingUpgrade>()
  private readonly waiters = new Map<string, Set<(conn: Connection | undefined) => void>>()
  private readonly history: HolePunchStats['recent'] = []
  private successes = 0
  private failures = 0

  constructor (init: DCUtRTrackerInit) {
    this.init = init
  }

  /** A relayed connection opened; starts an attempt unless one is pending */
  onRelayedOpen (conn: Connection, hasDirect: boolean): void {
    const key = conn.remotePeer.toString()

    if (hasDirect) {
      return
    }

    const existing = this.pending.get(key)

    if (existing != null) {
      existing.relayed.add(conn.id)
      return
    }

    if (this.pending.size >= this.init.maxPending) {
      const oldest = this.pending.keys().next().value

      if (oldest != null) {
        this.settle(oldest, false)
      }
    }

    const timer = setTimeout(() => { this.settle(key, false) }, this.init.window)
    timer.unref?.()
    this.pending.set(key, { peer: conn.remotePeer, startedAt: this.init.now(), timer, relayed: new Set([conn.id]) })
  }

  /** A direct connection opened; returns true if it settled an attempt as a success */
  onDirectOpen (conn: Connection): boolean {
    const key = conn.remotePeer.toString()

    if (!this.pending.has(key)) {
      return false
    }

    this.settle(key, true, conn)
    return true
  }

  /** A relayed connection closed; the attempt fails if it was the last one and no direct one came */
  onRelayedClose (conn: Connection): void {
    const entry = this.pending.get(conn.remotePeer.toString())

    if (entry == null) {
      return
    }

    entry.relayed.delete(conn.id)

    if (entry.relayed.size === 0) {
      this.settle(conn.remotePeer.toString(), false)
    }
  }

  /** The peer cannot hole punch (no DCUtR on one side): forget the attempt uncounted */
  cancel (peer: PeerId): void {
    const key = peer.toString()
    const entry = this.pending.get(key)

    if (entry == null) {
      return
    }

    clearTimeout(entry.timer)
    this.pending.delete(key)
    this.notify(key, undefined)
  }

  isPending (peer: PeerId): boolean {
    return this.pending.has(peer.toString())
  }

  /**
   * Resolves with the direct connection when a pending attempt for the peer
   * succeeds, or undefined when it fails, is cancelled, `timeout` passes or
   * the signal aborts
   */
  async waitForUpgrade (peer: PeerId, timeout: number, signal?: AbortSignal): Promise<Connection | undefined> {
    const key = peer.toString()

    if (!this.pending.has(key)) {
      return undefined
    }

    return new Promise(resolve => {
      let set = this.waiters.get(key)

      if (set == null) {
        set = new Set()
        this.waiters.set(key, set)
      }

      const done = (conn: Connection | undefined): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        set.delete(done)
        resolve(conn)
      }
      const onAbort = (): void => { done(undefined) }
      const timer = setTimeout(onAbort, timeout)

      set.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  getStats (): HolePunchStats {
    const attempts = this.successes + this.failures
    const durations = this.history.filter(h => h.success).map(h => h.duration).sort((a, b) => a - b)

    return {
      attempts,
      successes: this.successes,
      failures: this.failures,
      pending: this.pending.size,
      successRate: attempts === 0 ? null : this.successes / attempts,
      medianTimeToDirect: durations.length === 0 ? null : durations[Math.floor(durations.length / 2)],
      recent: this.history.map(h => ({ ...h }))
    }
  }

  stop (): void {
    for (const key of [...this.pending.keys()]) {
      const entry = this.pending.get(key)
      clearTimeout(entry?.timer)
      this.pending.delete(key)
      this.notify(key, undefined)
    }
  }

  private settle (key: string, success: boolean, conn?: Connection): void {
    const entry = this.pending.get(key)

    if (entry == null) {
      return
    }

    clearTimeout(entry.timer)
    this.pending.delete(key)
    const now = this.init.now()
    const duration = now - entry.startedAt

    if (success) {
      this.successes++
    } else {
      this.failures++
    }

    this.history.push({ peer: key, success, duration, at: now })

    if (this.history.length > this.init.maxHistory) {
      this.history.shift()
    }

    this.init.onOutcome({ peer: entry.peer, success, duration })
    this.notify(key, conn)
  }

  private notify (key: string, conn: Connection | undefined): void {
    const set = this.waiters.get(key)
    this.waiters.delete(key)

    for (const done of set ?? []) {
      done(conn)
    }
  }
}
