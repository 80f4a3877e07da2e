/**
 * Replacing unhealthy connections. The replacement is dialled first; the
 * old connection is closed once its streams have drained or the grace time
 * passed, and never when that would leave the peer below
 * `minConnectionsPerPeer` - unless it is dead (it failed every probe and
 * carried no stream since it degraded), in which case it is closed even if
 * it is the last one, and the peer is re-dialled (once per peer, with a
 * doubling back-off). Peers carrying the protected tag, or whose tags cannot
 * be read, are never touched.
 *
 * A replacement must pay off: after its first `PAYOFF_PROBES` probes it is
 * compared with the connection it replaced, and when it is neither healthy
 * nor clearly faster (`PAYOFF_RATIO`), the path, the remote or this host is
 * slow and a new connection does not help: it is counted futile. When the
 * peer's other connections are not healthy either (they degraded together),
 * only a healthy replacement pays off: the one replaced was picked at its
 * worst, so "faster than that" is no evidence.
 *
 * One replacement of a peer is judged at a time: from its dial until its
 * verdict (or its close, or `MAX_REPLACE_BACKOFF`), no other connection of
 * that peer is replaced (dead ones are still closed), so connections that
 * degrade together are not all replaced in the same round. A futile
 * replacement holds further replacements of that peer back for
 * `FUTILE_HOLD` (at most one futile replacement per peer per minute),
 * doubling up to `MAX_REPLACE_BACKOFF`; a failed replacement dial, for a
 * back-off doubling from `checkInterval x unhealthyChecksBeforeReplace`.
 *
 * Everything stops with the service: drains and back-offs wake up, dials
 * in flight are aborted, nothing is dialled, held, closed or counted after
 * `stop()`, and `stop()` forgets every hold, pending verdict and re-dial.
 * Each repair and re-dial keeps the signal of the run that started it, so
 * one still in flight after `stop()` and a new `start()` leaves the new
 * run's state alone.
 *
 * Bounds: holds, at most `MAX_HELD_PEERS` peers (a new one evicts the one
 * held longest ago; entries also go once long expired); pending verdicts,
 * `MAX_PENDING_PAYOFFS`; re-dial loops, one per peer with no open
 * connection left.
 */
import { DIAL_ROUND_TRIPS, FUTILE_HOLD, MAX_HELD_PEERS, MAX_PENDING_PAYOFFS, MAX_REPLACE_BACKOFF, PAYOFF_PROBES, PAYOFF_RATIO, REDIAL_ATTEMPTS } from './constants.ts'
import { DeadConnectionError } from './errors.ts'
import { sleep } from './sleep.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { ConnectionRecord } from './record.ts'
import type { Connection, Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** What repair needs of the service */
export interface RepairContext {
  readonly options: ResolvedHealthOptions
  readonly log: Logger
  readonly connectionManager: ConnectionManager
  readonly peerStore: PeerStore
  /** Aborted when the service stops */
  readonly signal: AbortSignal
  readonly counters: { replacements: number, futileReplacements: number }
  getTimeout(peer: PeerId): number
  /** The records of the peer's open connections */
  recordsOf(peer: PeerId): ConnectionRecord[]
}

interface Hold {
  /** Replacement dials that failed in a row */
  failures: number
  /** Futile replacements in a row */
  futile: number
  /** No replacement before this */
  until: number
  /** A replacement of the peer is being dialled or awaits its verdict since then (0: none) */
  judging: number
}

interface Payoff {
  peer: string
  /** Median RTT of the replaced connection's last probes, ms */
  rtt: number
  /** The peer's other connections were not healthy either when it was replaced */
  together: boolean
}

export class Repairer {
  private readonly ctx: RepairContext
  /** Peers being re-dialled, each with the signal of the run whose loop re-dials it */
  private readonly redialing = new Map<string, AbortSignal>()
  /** Peers whose replacements are held back, in the order they were last held (at most `MAX_HELD_PEERS`); entries go once long expired */
  private readonly held = new Map<string, Hold>()
  /** Replacements awaiting their verdict, by connection id (at most `MAX_PENDING_PAYOFFS`) */
  private readonly payoffs = new Map<string, Payoff>()

  constructor (ctx: RepairContext) {
    this.ctx = ctx
  }

  /** Forgets every hold, pending verdict and re-dial (the loops end on the service's aborted signal) */
  stop (): void {
    this.held.clear()
    this.payoffs.clear()
    this.redialing.clear()
  }

  /**
   * Peers held back, replacements awaiting their verdict, peers being re-dialled
   *
   * @internal
   */
  get sizes (): { held: number, payoffs: number, redialing: number } {
    return { held: this.held.size, payoffs: this.payoffs.size, redialing: this.redialing.size }
  }

  /** Holds `key`, as the most recent; at `MAX_HELD_PEERS` the peer held longest ago is let go */
  private hold (key: string, hold: Hold): void {
    this.held.delete(key)

    if (this.held.size >= MAX_HELD_PEERS) {
      const oldest = this.held.keys().next().value as string
      this.held.delete(oldest)
    }

    this.held.set(key, hold)
  }

  /** Protected by tag; a peer store that cannot answer protects too (fail closed) */
  private async isProtected (peer: PeerId): Promise<boolean> {
    try {
      const stored = await this.ctx.peerStore.get(peer)
      return stored.tags.has(this.ctx.options.protectedTag)
    } catch (err: any) {
      if (err?.name === 'NotFoundError') {
        return false
      }

      this.ctx.log('could not read the tags of %p, leaving it alone - %e', peer, err)
      return true
    }
  }

  /** Neither protected nor stopped while its tags were read (this run holds, dials and closes nothing after) */
  private async mayReplace (record: ConnectionRecord, signal: AbortSignal): Promise<boolean> {
    if (await this.isProtected(record.peer)) {
      this.ctx.log('%p is protected: leaving unhealthy %s open', record.peer, record.connection.id)
      return false
    }

    return !signal.aborted
  }

  /** Dead: failed every recent probe and no stream succeeded since it degraded */
  isDead (record: ConnectionRecord): boolean {
    return record.consecutiveFailures >= this.ctx.options.unhealthyChecksBeforeReplace && record.streamsOkSinceDegraded === 0
  }

  async repair (record: ConnectionRecord): Promise<void> {
    if (record.replacing || this.ctx.signal.aborted) {
      return
    }

    record.replacing = true
    const { connectionManager, options, log, signal } = this.ctx
    const peer = record.peer
    /** This repair's claim on judging the peer's next replacement, released unless a replacement is judged */
    let claim: Hold | undefined

    try {
      if (!(await this.mayReplace(record, signal))) {
        return
      }

      const dead = this.isDead(record)
      let replacement: Connection | undefined

      // a dead connection is closed at once and its peer re-dialled after
      // (see onClosed); a live but unhealthy one is replaced dial-first
      if (!dead) {
        const key = peer.toString()
        const now = Date.now()
        this.releaseExpired(now)
        const hold = this.held.get(key)

        if (hold != null && (now < hold.until || this.judging(hold, now))) {
          log.trace('replacement of %s to %p held back (%dms, %d failed dials, %d futile replacements, judging %s)', record.connection.id, peer, Math.max(0, hold.until - now), hold.failures, hold.futile, this.judging(hold, now))
          return
        }

        // claimed before the first await: siblings that turned unhealthy on
        // the same check find the peer judging and wait for the verdict
        claim = hold ?? { failures: 0, futile: 0, until: 0, judging: 0 }
        claim.judging = now
        this.hold(key, claim)

        try {
          replacement = await connectionManager.openConnection(peer, { force: true, signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeout(peer))]) })
          claim.failures = 0
        } catch (err) {
          if (signal.aborted) {
            return
          }

          claim.failures++
          claim.until = Date.now() + this.backoff(claim.failures)
          log('could not dial a replacement for %s to %p (failure %d) - %e', record.connection.id, peer, claim.failures, err)
        }
      }

      const others = connectionManager.getConnections(peer).filter(c => c.status === 'open' && c.id !== record.connection.id)

      if (others.length < options.minConnectionsPerPeer && !dead) {
        log('keeping unhealthy %s: %p would drop below %d connections', record.connection.id, peer, options.minConnectionsPerPeer)
        return
      }

      await this.drain(record.connection, dead ? 0 : options.replaceGrace, signal)
      // closed in a turn of its own: yamux sends a new stream's SYN in a
      // microtask and throws outside any promise (an uncaught exception)
      // when the connection closed in between, so a stream opened in this
      // turn (a probe, the application's) must have sent it first
      await sleep(0, signal)

      if (signal.aborted) {
        return
      }

      if (replacement != null) {
        this.expect(replacement, record)
        // judged now: the verdict (or the replacement's close) ends the claim
        claim = undefined
      }

      record.event('replaced', Date.now())
      this.ctx.counters.replacements++
      log('replacing %s to %p (score %d, dead %s) by %s', record.connection.id, peer, record.score.toFixed(2), dead, replacement?.id ?? 'none')

      if (dead) {
        record.connection.abort(new DeadConnectionError())
      } else {
        await record.connection.close().catch(err => { record.connection.abort(err) })
      }
    } finally {
      record.replacing = false

      if (claim != null) {
        claim.judging = 0
      }
    }
  }

  /** A replacement of the peer awaits its verdict (a claim older than `MAX_REPLACE_BACKOFF` is stale) */
  private judging (hold: Hold, now: number): boolean {
    return hold.judging > 0 && now - hold.judging < MAX_REPLACE_BACKOFF
  }

  /** The peer's replacement was judged, or will never be */
  private judged (peer: string): void {
    const hold = this.held.get(peer)

    if (hold != null) {
      hold.judging = 0
    }
  }

  /** A dial takes about four round trips (TCP, noise, yamux, identify): the adaptive timeout covers one */
  private dialTimeout (peer: PeerId): number {
    const { pingTimeout, maxTimeout } = this.ctx.options
    return Math.min(maxTimeout, Math.max(pingTimeout, DIAL_ROUND_TRIPS * this.ctx.getTimeout(peer)))
  }

  /** Hold after the n-th failed replacement dial in a row */
  private backoff (n: number): number {
    const { checkInterval, unhealthyChecksBeforeReplace } = this.ctx.options
    return Math.min(MAX_REPLACE_BACKOFF, checkInterval * unhealthyChecksBeforeReplace * 2 ** (n - 1))
  }

  /** Hold after the n-th futile replacement in a row: at most one a minute, doubling */
  private futileHold (n: number): number {
    const { checkInterval, unhealthyChecksBeforeReplace } = this.ctx.options
    return Math.min(MAX_REPLACE_BACKOFF, Math.max(FUTILE_HOLD, checkInterval * unhealthyChecksBeforeReplace) * 2 ** (n - 1))
  }

  /** Remembers what the replacement has to beat */
  private expect (replacement: Connection, replaced: ConnectionRecord): void {
    if (this.payoffs.size >= MAX_PENDING_PAYOFFS) {
      const [oldest, evicted] = this.payoffs.entries().next().value as [string, Payoff]
      this.payoffs.delete(oldest)
      this.judged(evicted.peer)
    }

    const siblings = this.ctx.recordsOf(replaced.peer).filter(r => r !== replaced && r.connection.id !== replacement.id)

    this.payoffs.set(replacement.id, {
      peer: replaced.peer.toString(),
      rtt: replaced.rtt.samples > 0 ? replaced.rtt.recentMedian(3) : Infinity,
      together: siblings.length > 0 && siblings.every(r => r.state !== 'healthy')
    })
  }

  /**
   * Judges a replacement once it has `PAYOFF_PROBES` probes: it pays off
   * when it is healthy or its RTT is below `PAYOFF_RATIO` of the replaced
   * connection's; otherwise it is futile and the peer is held back
   */
  judge (record: ConnectionRecord, now: number): void {
    const payoff = this.payoffs.get(record.connection.id)

    if (payoff == null || record.probes < PAYOFF_PROBES) {
      return
    }

    this.payoffs.delete(record.connection.id)
    this.judged(payoff.peer)
    const rtt = record.rtt.samples > 0 ? record.rtt.recentMedian(3) : Infinity
    const hold = this.held.get(payoff.peer)

    if (record.score >= this.ctx.options.minHealthThreshold || (!payoff.together && rtt < payoff.rtt * PAYOFF_RATIO)) {
      if (hold != null) {
        hold.futile = 0

        if (hold.failures === 0 && hold.judging === 0) {
          this.held.delete(payoff.peer)
        }
      }

      return
    }

    const futile = (hold?.futile ?? 0) + 1
    this.ctx.counters.futileReplacements++
    this.hold(payoff.peer, { failures: hold?.failures ?? 0, futile, until: now + this.futileHold(futile), judging: hold?.judging ?? 0 })
    this.ctx.log('replacement %s to %p is no better (rtt %dms, replaced %dms, score %d): holding replacements back', record.connection.id, record.peer, Math.round(rtt), Math.round(payoff.rtt), record.score.toFixed(2))
  }

  /** Peers held back for replacements right now */
  get heldPeers (): number {
    return this.held.size
  }

  /** Forgets holds long expired, so the map only holds peers that failed recently */
  private releaseExpired (now: number): void {
    for (const [key, hold] of this.held) {
      if (now > hold.until + MAX_REPLACE_BACKOFF && !this.judging(hold, now)) {
        this.held.delete(key)
      }
    }
  }

  /** Waits until no stream is open on the connection, the grace time passed, or the run of `signal` stopped */
  private async drain (connection: Connection, grace: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + grace

    while (connection.streams.length > 0 && Date.now() < deadline && connection.status === 'open' && !signal.aborted) {
      await sleep(Math.min(100, grace), signal)
    }
  }

  /**
   * A connection closed: forget its pending verdict; after a dead one,
   * re-dial its peer once nothing is left, one re-dial loop per peer, with
   * a back-off doubling from `checkInterval`
   */
  onClosed (record: ConnectionRecord): void {
    const payoff = this.payoffs.get(record.connection.id)

    if (payoff != null) {
      this.payoffs.delete(record.connection.id)
      this.judged(payoff.peer)
    }

    const { connectionManager, options, log, signal } = this.ctx
    const key = record.peer.toString()

    if (!record.events.some(e => e.event === 'replaced') || this.redialing.has(key) || signal.aborted) {
      return
    }

    this.redialing.set(key, signal)

    void (async () => {
      try {
        for (let attempt = 1; attempt <= REDIAL_ATTEMPTS && !signal.aborted; attempt++) {
          if (connectionManager.getConnections(record.peer).some(c => c.status === 'open')) {
            return
          }

          try {
            await connectionManager.openConnection(record.peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeout(record.peer))]) })
            log('re-dialled %p after replacing a dead connection', record.peer)
            return
          } catch (err) {
            log('re-dial %d of %p failed - %e', attempt, record.peer, err)
            await sleep(Math.min(MAX_REPLACE_BACKOFF, options.checkInterval * 2 ** (attempt - 1)), signal)
          }
        }
      } finally {
        // a loop of a stopped run may end after the next run started one of its own for the peer
        if (this.redialing.get(key) === signal) {
          this.redialing.delete(key)
        }
      }
    })()
  }
}
