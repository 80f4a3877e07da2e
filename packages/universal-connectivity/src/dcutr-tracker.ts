/**
 * Tells apart how a relayed connection became direct, from what can be seen
 * of the connections themselves: `@libp2p/dcutr` dispatches nothing and
 * swallows its last failure.
 *
 * A relayed connection to a peer we have no direct connection to is
 * watched for up to `window`. The DCUtR exchange runs on a `/libp2p/dcutr`
 * stream over the relayed connection. One the peer opens reaches the
 * registered DCUtR handler, which the service wraps to call `onExchange`: a
 * receiver's stream lives only until SYNC (go-libp2p's initiator closes it
 * then, before it dials), often a few ms. One we open (our DCUtR service is
 * the initiator) stays open until our direct dial settles; the watched
 * connections' streams are sampled for it every `pollInterval` and when the
 * direct connection opens. When a direct connection to the peer opens:
 *
 * - after an exchange on the relayed connection, while its stream is open or
 * within `exchangeGrace` of it (the DCUtR dial that follows SYNC: go-libp2p
 * and `@x/hole-punching` give it 10 s): `hole-punch`, a success; a later
 * one ends the attempt as a failure and is one of the two below;
 * - inbound, without an exchange: `reversal` (the peer dialled our public
 * address, as go-libp2p's holepunch service does first when it knows one);
 * - outbound, without an exchange: `direct` (our own dial, e.g. the pool's).
 *
 * An exchange with no direct connection within `window`, or before the last
 * relayed connection closes, is a failure. Relayed connections on which no
 * exchange ran are no attempt at all. A peer whose identify lacks DCUtR is
 * still watched (go-libp2p registers it only once it knows a public address
 * of its own, and tells by identify push), but `dialPeer` does not wait for
 * it (`cancel`).
 *
 * Bounded: at most `maxPending` relayed peers are watched at once (the
 * oldest is settled first) and the last `maxHistory` outcomes are kept.
 */
import { DCUTR_PROTOCOL } from './constants.ts'
import { abortReason } from './errors.ts'
import type { Connection, PeerId } from '@libp2p/interface'
import type { ConnectionPath, HolePunchOutcome } from '@x/interface'

interface Watch {
  peer: PeerId
  startedAt: number
  /** When a DCUtR stream was first seen on one of the relayed connections */
  exchangedAt?: number
  /** When a DCUtR stream was last seen (arriving, or open when sampled) */
  lastExchangeAt?: number
  timer: ReturnType<typeof setTimeout>
  relayed: Map<string, Connection>
  /** False once the peer's identify lacked DCUtR: `waitForUpgrade` does not wait for it */
  waitable: boolean
}

/** How a watched relayed connection was upgraded */
export interface Upgrade {
  connection: Connection
  path: Extract<ConnectionPath, 'direct' | 'reversal' | 'hole-punch'>
}

export interface DCUtRTrackerInit {
  window: number
  /** How long after the last exchange was seen a direct connection is still its hole punch */
  exchangeGrace: number
  maxPending: number
  maxHistory: number
  pollInterval: number
  now(): number
  onOutcome(outcome: HolePunchOutcome): void
}

export interface HolePunchStats {
  /** DCUtR exchanges seen and settled: successes + failures */
  attempts: number
  successes: number
  failures: number
  /** Direct connections the peer opened to us while relayed, without a DCUtR exchange */
  reversals: number
  /** Relayed peers being watched for an upgrade */
  pending: number
  /** successes / attempts, or null before the first settled attempt */
  successRate: number | null
  /** Median time from the relayed connection to the direct one, ms, over the kept history */
  medianTimeToDirect: number | null
  recent: Array<{ peer: string, success: boolean, duration: number, at: number }>
}

export class DCUtRTracker {
  private readonly init: DCUtRTrackerInit
  private readonly pending = new Map<string, Watch>()
  private readonly waiters = new Map<string, Set<(upgrade: Upgrade | undefined) => void>>()
  private readonly history: HolePunchStats['recent'] = []
  private poller?: ReturnType<typeof setInterval>
  private successes = 0
  private failures = 0
  private reversals = 0

  constructor (init: DCUtRTrackerInit) {
    this.init = init
  }

  /** A relayed connection opened; watches it unless the peer is already directly connected */
  onRelayedOpen (conn: Connection, hasDirect: boolean): void {
    const key = conn.remotePeer.toString()

    if (hasDirect) {
      return
    }

    const existing = this.pending.get(key)

    if (existing != null) {
      existing.relayed.set(conn.id, conn)
      return
    }

    if (this.pending.size >= this.init.maxPending) {
      const oldest = this.pending.keys().next().value

      if (oldest != null) {
        this.expire(oldest)
      }
    }

    const timer = setTimeout(() => { this.expire(key) }, this.init.window)
    timer.unref?.()
    this.pending.set(key, { peer: conn.remotePeer, startedAt: this.init.now(), timer, relayed: new Map([[conn.id, conn]]), waitable: true })
    this.startPolling()
  }

  /**
   * A direct connection opened: settles the peer's watch and says which path
   * it took (`direct` when nothing was watched)
   */
  onDirectOpen (conn: Connection): Upgrade['path'] {
    const key = conn.remotePeer.toString()
    const watch = this.pending.get(key)

    if (watch == null) {
      return 'direct'
    }

    this.sample(watch)

    if (watch.lastExchangeAt != null && this.init.now() - watch.lastExchangeAt <= this.init.exchangeGrace) {
      this.settle(key, true, { connection: conn, path: 'hole-punch' })
      return 'hole-punch'
    }

    const path = conn.direction === 'inbound' ? 'reversal' : 'direct'

    if (path === 'reversal') {
      this.reversals++
    }

    if (watch.exchangedAt != null) {
      // the exchange was over long before: its dial gave up, this is another
      this.settle(key, false, { connection: conn, path })
    } else {
      this.forget(key, { connection: conn, path })
    }

    return path
  }

  /** A relayed connection closed; the watch ends with the last one */
  onRelayedClose (conn: Connection): void {
    const key = conn.remotePeer.toString()
    const watch = this.pending.get(key)

    if (watch == null) {
      return
    }

    this.sample(watch)
    watch.relayed.delete(conn.id)

    if (watch.relayed.size === 0) {
      this.expire(key)
    }
  }

  /**
   * A DCUtR stream reached our handler on `conn`: an exchange on it, if it is
   * a watched relayed connection we dialled: the peer that accepted the
   * relayed connection initiates (the DCUtR spec; go-libp2p and
   * `@x/hole-punching` reset a stream on one the peer dialled, and
   * `@libp2p/dcutr` never opens one there), so a stream the peer opens on a
   * relayed connection it dialled is no exchange, only a way to have its
   * own direct dial counted as a hole punch
   */
  onExchange (conn: Connection): void {
    const watch = this.pending.get(conn.remotePeer.toString())

    if (watch != null && conn.direction === 'outbound' && watch.relayed.has(conn.id)) {
      this.exchanged(watch)
    }
  }

  /**
   * The peer does not speak DCUtR (yet): nobody waits for its upgrade, but
   * the watch goes on, as the peer may start to speak it within the window
   */
  cancel (peer: PeerId): void {
    const key = peer.toString()
    const watch = this.pending.get(key)

    if (watch == null) {
      return
    }

    watch.waitable = false
    this.wake(key, undefined)
  }

  /** Whether the peer's relayed connection is watched and an upgrade worth waiting for */
  isPending (peer: PeerId): boolean {
    return this.pending.get(peer.toString())?.waitable === true
  }

  /**
   * Resolves with the direct connection and its path when the peer's watch
   * ends with one, or undefined when it ends without one or `timeout`
   * passes; rejects with the signal's reason when it aborts
   */
  async waitForUpgrade (peer: PeerId, timeout: number, signal?: AbortSignal): Promise<Upgrade | undefined> {
    const key = peer.toString()

    if (signal?.aborted === true) {
      throw abortReason(signal)
    }

    if (!this.isPending(peer)) {
      return undefined
    }

    return new Promise((resolve, reject) => {
      let set = this.waiters.get(key)

      if (set == null) {
        set = new Set()
        this.waiters.set(key, set)
      }

      const cleanup = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        set.delete(done)
      }
      const done = (upgrade: Upgrade | undefined): void => {
        cleanup()
        resolve(upgrade)
      }
      const onAbort = (): void => {
        cleanup()
        reject(abortReason(signal))
      }
      const timer = setTimeout(() => { done(undefined) }, timeout)

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
      reversals: this.reversals,
      pending: this.pending.size,
      successRate: attempts === 0 ? null : this.successes / attempts,
      medianTimeToDirect: durations.length === 0 ? null : durations[Math.floor(durations.length / 2)],
      recent: this.history.map(h => ({ ...h }))
    }
  }

  stop (): void {
    for (const key of [...this.pending.keys()]) {
      this.forget(key, undefined)
    }

    this.stopPolling()
  }

  /** Looks for a DCUtR stream on the watched relayed connections */
  private sample (watch: Watch): void {
    for (const conn of watch.relayed.values()) {
      if (conn.streams.some(stream => stream.protocol === DCUTR_PROTOCOL)) {
        this.exchanged(watch)
        return
      }
    }
  }

  private exchanged (watch: Watch): void {
    const now = this.init.now()
    watch.exchangedAt ??= now
    watch.lastExchangeAt = now
  }

  private startPolling (): void {
    if (this.poller != null) {
      return
    }

    this.poller = setInterval(() => {
      for (const watch of this.pending.values()) {
        this.sample(watch)
      }
    }, this.init.pollInterval)
    this.poller.unref?.()
  }

  private stopPolling (): void {
    clearInterval(this.poller)
    this.poller = undefined
  }

  /** The window passed or the relayed connections closed: a failure if an exchange ran */
  private expire (key: string): void {
    const watch = this.pending.get(key)

    if (watch == null) {
      return
    }

    this.sample(watch)

    if (watch.exchangedAt != null) {
      this.settle(key, false, undefined)
    } else {
      this.forget(key, undefined)
    }
  }

  private settle (key: string, success: boolean, upgrade: Upgrade | undefined): void {
    const watch = this.pending.get(key)

    if (watch == null) {
      return
    }

    const now = this.init.now()
    const duration = now - watch.startedAt

    if (success) {
      this.successes++
    } else {
      this.failures++
    }

    this.history.push({ peer: key, success, duration, at: now })

    if (this.history.length > this.init.maxHistory) {
      this.history.shift()
    }

    this.forget(key, upgrade)
    this.init.onOutcome({ peer: watch.peer, success, duration })
  }

  private forget (key: string, upgrade: Upgrade | undefined): void {
    const watch = this.pending.get(key)

    if (watch == null) {
      return
    }

    clearTimeout(watch.timer)
    this.pending.delete(key)

    if (this.pending.size === 0) {
      this.stopPolling()
    }

    this.wake(key, upgrade)
  }

  private wake (key: string, upgrade: Upgrade | undefined): void {
    const set = this.waiters.get(key)
    this.waiters.delete(key)

    for (const done of set ?? []) {
      done(upgrade)
    }
  }
}
