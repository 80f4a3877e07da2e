/**
 * Opens the pool's connections: to one peer one after another (libp2p
 * merges concurrent forced dials to a peer), each attempt bounded by a
 * timeout and retried with backoff and jitter while the peer is below its
 * minimum; re-dials kept peers that dropped below their target; and decides
 * what a closed or failed extra connection was. A reachable peer that
 * refuses an extra connection is not retried: the refusal is counted and
 * its target lowered (the one place that does so) for the refusal's hold
 * (`refusal.ts`: a refused dial from 6 s, doubling with each refusal in a
 * row up to `REFUSAL_HOLD`; a connection closed at once, `REFUSAL_HOLD`).
 * Once the hold ends, `dial()` (`raiseTarget`) or maintenance (`endHold`,
 * with one top-up) asks for `maxConnectionsPerPeer` again. Timeouts and
 * aborts are not refusals, and an aborted call leaves status, target and
 * tag alone.
 *
 * Bounds: one call opens at most `maxConnectionsPerPeer` connections, each
 * with at most `retry.maxRetries + 1` attempts; at most one top-up and one
 * pending re-dial per peer; re-dials back off (`retry`) until a connection
 * has stayed up `REDIAL_STABLE_AFTER`.
 */
import { AbortError } from '@libp2p/interface'
import { DIAL_TIMEOUT_MARGIN, DIAL_TIMEOUT_RTTS, REDIAL_STABLE_AFTER, REFUSAL_WINDOW } from './constants.ts'
import { PeerDialFailedError, PoolLimitReachedError } from './errors.ts'
import { isHeld, nextRefusal } from './refusal.ts'
import { backoffDelay, isRefusal, isRetryable } from './retry.ts'
import { anySignal, raceSignal, sleep, timeout } from './time.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PoolContext } from './pool-state.ts'
import type { RefusalKind } from './refusal.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'

export class ConnectionDialer {
  private readonly pool: PoolContext

  constructor (pool: PoolContext) {
    this.pool = pool
  }

  /**
   * Opens connections until the peer has `entry.target`, or this call has
   * opened `maxConnectionsPerPeer`. Resolves when done; rejects when the
   * peer has no connection afterwards, or with the abort reason when the
   * caller's signal aborted or the pool let the peer go.
   *
   * With `countLimited: false` (a stream that may not run on a limited,
   * relayed connection) only unlimited connections count toward the
   * target, but the peer never gets more than `maxConnectionsPerPeer` open
   * connections, each dial is one attempt while limited connections are
   * open, and a dial that brings a limited connection (libp2p found
   * no direct address that works) ends the call: a peer reachable only
   * through a relay is not dialled again and again.
   */
  async topUp (entry: PeerEntry, options: AbortOptions = {}, countLimited = true): Promise<void> {
    const signal = anySignal(options.signal, entry.controller.signal)

    // one top-up per peer at a time (`entry.dialing` never rejects)
    while (entry.dialing != null) {
      await raceSignal(entry.dialing, signal)
    }

    const statusBefore = entry.status
    const run = this.runTopUp(entry, signal, countLimited)
    entry.dialing = run.then(() => {}, () => {})

    try {
      await run
    } catch (err: any) {
      if (signal.aborted) {
        // an abort is the caller's (or release/stop): no state changes
        if (this.pool.state.openConnections(entry.peer).length === 0 && entry.status === 'connecting') {
          entry.dialing = undefined
          this.pool.state.setStatus(entry, statusBefore === 'connecting' ? 'disconnected' : statusBefore)
        }

        throw abortReason(signal)
      }

      throw err
    } finally {
      entry.dialing = undefined
      this.pool.state.refreshStatus(entry)
    }
  }

  private async runTopUp (entry: PeerEntry, signal: AbortSignal, countLimited: boolean): Promise<void> {
    const { state, options, metrics, log } = this.pool
    const counted = (): number => state.openConnections(entry.peer).filter(conn => countLimited || conn.limits == null).length
    let dials = 0

    while (true) {
      if (signal.aborted) {
        throw abortReason(signal)
      }

      const open = counted()
      const all = state.openConnections(entry.peer).length

      if (open >= entry.target) {
        return
      }

      if (dials >= options.maxConnectionsPerPeer) {
        log('%p: this call dialled %d connections already, stopping at %d open', entry.peer, dials, open)
        return
      }

      if (all >= options.maxConnectionsPerPeer) {
        log('%p: %d connections open, %d of them unlimited: not dialling more', entry.peer, all, open)
        return
      }

      if (state.totalConnections() + state.dialsInFlight >= options.maxConnections) {
        metrics.limitedDials++
        log('not dialling %p: the pool holds maxConnections (%d)', entry.peer, options.maxConnections)

        if (open === 0) {
          throw new PoolLimitReachedError(`The pool holds maxConnections (${options.maxConnections}) already`)
        }

        return
      }

      if (all === 0) {
        state.setStatus(entry, 'connecting')
      }

      // below the minimum: retry with backoff; above it, or while limited
      // connections keep the peer reachable (a peer behind a NAT, whose
      // direct addresses may never answer): one attempt
      const belowMinimum = open === all && open < Math.max(1, options.minConnectionsPerPeer)
      dials++

      try {
        const conn = await this.dialOnce(entry, belowMinimum ? options.retry.maxRetries : 0, signal)
        this.accepted(entry, counted())

        if (!countLimited && conn.limits != null) {
          log('%p: the dial for an unlimited connection brought a limited one: stopping', entry.peer)
          return
        }
      } catch (err: any) {
        if (signal.aborted) {
          throw abortReason(signal)
        }

        const stillOpen = counted()

        if (stillOpen > 0) {
          if (isRefusal(err)) {
            this.refused(entry, stillOpen, 'dial', `dial failed: ${err.cause?.message ?? err.message}`)
          } else {
            log('extra connection to %p timed out, keeping target %d: %e', entry.peer, entry.target, err)
          }

          return
        }

        // limited connections are still open: the peer did not fail
        if (state.openConnections(entry.peer).length > 0) {
          throw err
        }

        state.setStatus(entry, 'failed')
        await this.pool.tags.untag(entry)
        throw err
      }
    }
  }

  /** The timeout of one dial attempt: `dialTimeout`, longer on a slow measured path */
  dialTimeout (entry: PeerEntry): number {
    const { dialTimeout } = this.pool.options

    return entry.rttAverage == null ? dialTimeout : Math.max(dialTimeout, DIAL_TIMEOUT_RTTS * entry.rttAverage + DIAL_TIMEOUT_MARGIN)
  }

  /** One new connection, with up to `retries` retries */
  private async dialOnce (entry: PeerEntry, retries: number, signal: AbortSignal): Promise<Connection> {
    const { options, metrics, state, components, log } = this.pool
    let lastError: any
    let attempts = 0

    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        metrics.dialRetries++
        await sleep(backoffDelay(attempt, options.retry), signal)
      }

      attempts++
      metrics.dialAttempts++
      const limit = timeout(this.dialTimeout(entry))
      let conn: Connection
      state.dialsInFlight++

      try {
        conn = await components.connectionManager.openConnection(entry.addrs.length > 0 ? entry.addrs : entry.peer, {
          force: true,
          signal: anySignal(signal, limit.signal)
        })
      } catch (err: any) {
        metrics.dialFailures++
        lastError = err
        log('dial %d to %p failed: %e', attempt + 1, entry.peer, err)

        // the caller's abort is told by its signal, not by the error's
        // name: libp2p's per-address timeout is an AbortError too. A peer
        // with a connection open that refuses another is not retried, even
        // below minConnectionsPerPeer
        if (signal.aborted || !isRetryable(err) || (isRefusal(err) && state.openConnections(entry.peer).length > 0)) {
          break
        }

        continue
      } finally {
        state.dialsInFlight--
        limit.clear()
      }

      metrics.dialSuccesses++

      // released, evicted or stopped while dialling: the connection is not wanted
      if (signal.aborted || !state.isCurrent(entry)) {
        log('%p was let go while dialling, closing %s', entry.peer, conn.id)
        state.markClosing(conn.id)
        await conn.close().catch(err => { conn.abort(err) })
        throw abortReason(signal)
      }

      // the re-dial backoff resets when a connection closes after staying
      // up REDIAL_STABLE_AFTER, not when a dial succeeds (connectionClosed)
      this.adopt(entry, conn)

      if (entry.kept) {
        await this.pool.tags.tag(entry)
      }

      log('opened %s to %p (%d open)', conn.id, entry.peer, state.openConnections(entry.peer).length)
      return conn
    }

    throw new PeerDialFailedError(`Could not open a connection to ${entry.peer}: ${lastError?.message}`, attempts, { cause: lastError })
  }

  /** Records a connection the pool opened itself */
  adopt (entry: PeerEntry, conn: Connection): void {
    const now = Date.now()
    entry.opened.set(conn.id, now)
    this.pool.state.noteActive(conn.id, now)
  }

  /**
   * What `dial()` asks for: `maxConnectionsPerPeer`, unless a refusal by
   * the remote still holds the target at what it accepted (also one from
   * while the pool did not manage the peer: `RefusalHolds`); then calling
   * `dial()` again dials nothing more
   */
  raiseTarget (entry: PeerEntry, now = Date.now()): void {
    if (entry.refusal == null) {
      // a refusal the peer's previous entry left behind (released, expired, evicted)
      this.pool.state.restoreRefusal(entry, now)
    }

    const { refusal } = entry

    if (refusal != null && isHeld(refusal, now)) {
      this.pool.log('%p refused a connection %dms ago: keeping target %d for %dms', entry.peer, now - refusal.at, entry.target, refusal.hold)
      return
    }

    if (refusal != null) {
      refusal.lowered = false
    }

    entry.target = this.pool.options.maxConnectionsPerPeer
  }

  /**
   * Maintenance: a kept peer whose refusal's hold has ended gets
   * `maxConnectionsPerPeer` back and one top-up, so the pool recovers
   * without another `dial()`. Once per hold (the target is no longer the
   * lowered one afterwards); a refusal of that top-up begins the next,
   * longer, hold. Returns whether it raised the target.
   */
  endHold (entry: PeerEntry, now = Date.now()): boolean {
    const { refusal } = entry

    if (!entry.kept || refusal == null || !refusal.lowered || isHeld(refusal, now)) {
      return false
    }

    refusal.lowered = false
    entry.target = this.pool.options.maxConnectionsPerPeer
    this.pool.log('%p: the %dms hold of its refusal ended, asking for %d connections again', entry.peer, refusal.hold, entry.target)

    if (this.pool.isStarted()) {
      this.topUp(entry).catch(err => {
        this.pool.log('top-up of %p after its refusal hold failed: %e', entry.peer, err)
      })
    }

    return true
  }

  /**
   * A refusal by the remote: counted, and the peer's target lowered to what
   * it accepted for the refusal's hold, below `minConnectionsPerPeer` too
   * (else maintenance would re-dial it for the minimum, and be refused,
   * forever)
   */
  private refused (entry: PeerEntry, open: number, kind: RefusalKind, why: string): void {
    this.pool.metrics.dialRefusals++
    entry.refusal = nextRefusal(entry.refusal, kind, open, Date.now())
    entry.target = open
    this.pool.log('%p refused an extra connection (%s): keeping %d for %dms', entry.peer, why, entry.target, entry.refusal.hold)
  }

  /**
   * A dial succeeded: with more connections open than when the peer last
   * refused, its streak of refusals ends (the next refused dial is held
   * `REFUSAL_HOLD_START` again). Re-opening what it accepted within a hold
   * (after `release()`, or a lost connection) ends nothing.
   */
  private accepted (entry: PeerEntry, open: number): void {
    if (entry.refusal != null && open > entry.refusal.accepted) {
      this.pool.log('%p accepted %d connections, more than the %d it refused beyond: its next refusal holds from the start', entry.peer, open, entry.refusal.accepted)
      entry.refusal = undefined
    }
  }

  /** A connection to a managed peer closed: a refusal, a loss to re-dial, or nothing */
  connectionClosed (conn: Connection): void {
    const { state } = this.pool
    const { closedByUs, carriedStreams } = state.connectionGone(conn.id)
    const entry = state.get(conn.remotePeer)

    if (entry == null) {
      return
    }

    const dialled = entry.opened.get(conn.id)
    entry.opened.delete(conn.id)
    const open = state.openConnections(entry.peer).length
    const lived = dialled == null ? Infinity : Date.now() - dialled

    // only a connection the pool opened says its re-dials stay up: one it
    // did not open (inbound, another service's) may be gone at once
    if (dialled != null && lived >= REDIAL_STABLE_AFTER) {
      entry.redials = 0
    }

    if (!closedByUs && !carriedStreams && open > 0 && lived < REFUSAL_WINDOW) {
      this.refused(entry, open, 'close', `closed ${conn.id} ${lived} ms after the dial`)
      return
    }

    state.refreshStatus(entry)

    if (entry.kept && open < entry.target) {
      this.scheduleRedial(entry)
    }
  }

  /** Re-dial a kept peer that dropped below its target, after a backoff delay */
  scheduleRedial (entry: PeerEntry): void {
    if (entry.redialTimer != null || entry.dialing != null || !this.pool.isStarted() || !entry.kept) {
      return
    }

    entry.redials++
    const delay = backoffDelay(entry.redials, this.pool.options.retry)
    this.pool.log('re-dialling %p in %dms', entry.peer, delay)

    entry.redialTimer = setTimeout(() => {
      entry.redialTimer = undefined
      this.topUp(entry).catch(err => {
        this.pool.log('re-dial of %p failed: %e', entry.peer, err)
      })
    }, delay)
  }
}

function abortReason (signal: AbortSignal): Error {
  return signal.reason ?? new AbortError('The operation was aborted')
}
