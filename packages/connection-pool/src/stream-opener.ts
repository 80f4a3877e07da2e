/**
 * Stream placement and failover: the strategy picks a connection; if the
 * stream cannot be opened because that connection closed, reset or timed
 * out, the next one is tried (each at most once), and only then a new
 * connection is dialled. Each attempt has its own timeout, combined with
 * the caller's signal, so a stuck connection is left for the next one while
 * the caller still waits; the caller's abort ends the call with its reason.
 * Relayed (limited) connections are used only when the caller allows it and
 * no direct connection is open.
 */
import { NOT_CONNECTION_FAILURES, POOL_STREAM_EVENT } from '@x/interface'
import { STREAM_OPEN_TIMEOUT_RTTS } from './constants.ts'
import { NoConnectionAvailableError } from './errors.ts'
import { anySignal, timeout } from './time.ts'
import type { ConnectionDialer } from './connection-dialer.ts'
import type { ConnectionCandidate, PoolNewStreamOptions } from './index.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PoolContext } from './pool-state.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** Errors of the dial after every connection failed that reach the caller as they are */
const PASSED_THROUGH = new Set(['PoolLimitReachedError', 'PoolNotStartedError', 'AbortError', 'InvalidParametersError'])

export class StreamOpener {
  private readonly pool: PoolContext
  private readonly dialer: ConnectionDialer

  constructor (pool: PoolContext, dialer: ConnectionDialer) {
    this.pool = pool
    this.dialer = dialer
  }

  /** Open connections the strategy may use for this call */
  candidates (entry: PeerEntry, runOnLimitedConnection = false): ConnectionCandidate[] {
    // limited (relayed) connections only when the caller allows them, and
    // direct connections always first
    const usable = this.pool.state.openConnections(entry.peer).filter(conn => conn.limits == null || runOnLimitedConnection)
    const direct = usable.filter(conn => conn.direct)
    const chosen = direct.length > 0 ? direct : usable

    return chosen.map(connection => ({
      connection,
      openStreams: connection.streams.length,
      health: this.pool.state.healthOf(connection.id)
    }))
  }

  /** The connection the strategy picks from `candidates`, advancing the rotation or not */
  select (entry: PeerEntry, candidates: ConnectionCandidate[], protocols: string[], advance: boolean): Connection | undefined {
    if (candidates.length === 0) {
      return undefined
    }

    const chosen = this.pool.options.selector(candidates, { peer: entry.peer, protocols, counter: entry.counter })

    if (advance) {
      entry.counter++
    }

    // a custom selector returning something foreign falls back to the first
    return (candidates.find(c => c.connection === chosen?.connection) ?? candidates[0]).connection
  }

  async newStream (entry: PeerEntry, protocols: string[], options: PoolNewStreamOptions): Promise<Stream> {
    const started = Date.now()
    const tried = new Set<string>()
    let lastError: any

    while (true) {
      const remaining = this.candidates(entry, options.runOnLimitedConnection).filter(c => !tried.has(c.connection.id))
      const conn = this.select(entry, remaining, protocols, tried.size === 0)

      if (conn == null) {
        break
      }

      tried.add(conn.id)

      try {
        return await this.openOn(entry, conn, protocols, options, started, tried.size > 1)
      } catch (err: any) {
        lastError = err

        if (options.signal?.aborted === true) {
          throw options.signal.reason
        }

        if (!this.isConnectionFailure(err, conn)) {
          throw err
        }
      }
    }

    // every open connection failed (or there was none): dial a new one
    try {
      await this.dialer.topUp(entry, options, options.runOnLimitedConnection === true)
    } catch (err: any) {
      if (options.signal?.aborted === true) {
        throw options.signal.reason
      }

      if (PASSED_THROUGH.has(err?.name)) {
        throw err
      }

      throw new NoConnectionAvailableError(`No connection to ${entry.peer} could open a stream for ${protocols.join(', ')}: ${(lastError ?? err).message}`, { cause: lastError ?? err })
    }

    const fresh = this.candidates(entry, options.runOnLimitedConnection).filter(c => !tried.has(c.connection.id))
    const conn = this.select(entry, fresh, protocols, tried.size === 0)

    if (conn == null) {
      const limitedOnly = options.runOnLimitedConnection !== true && this.pool.state.openConnections(entry.peer).some(c => c.limits != null)
      const why = limitedOnly ? ': only limited (relayed) connections are open; pass runOnLimitedConnection: true to use them' : lastError != null ? `: ${lastError.message}` : ''

      throw new NoConnectionAvailableError(`No connection to ${entry.peer} could open a stream for ${protocols.join(', ')}${why}`, { cause: lastError })
    }

    return this.openOn(entry, conn, protocols, options, started, tried.size > 0)
  }

  /** The timeout of one stream attempt: one round trip's worth when measured, else `streamOpenTimeout` */
  openTimeout (entry: PeerEntry): number {
    if (entry.adaptiveTimeout == null && entry.rttAverage == null) {
      return this.pool.options.streamOpenTimeout
    }

    return Math.max(entry.adaptiveTimeout ?? 0, STREAM_OPEN_TIMEOUT_RTTS * (entry.rttAverage ?? 0))
  }

  private async openOn (entry: PeerEntry, conn: Connection, protocols: string[], options: PoolNewStreamOptions, started: number, failover: boolean): Promise<Stream> {
    const { state, metrics, log } = this.pool
    const attemptStarted = Date.now()
    const limit = timeout(this.openTimeout(entry))

    try {
      const stream = await conn.newStream(protocols, { ...options, signal: anySignal(options.signal, limit.signal) })
      const now = Date.now()
      entry.lastUsed = now
      state.noteActive(conn.id, now)
      state.markUsed(conn.id)
      metrics.recordStreamOpened(now - started, now)

      if (failover) {
        metrics.failovers++
      }

      if (this.reportOpened()) {
        this.dispatch(entry, conn, stream.protocol, 'opened', now - attemptStarted, failover)
      }

      return stream
    } catch (err: any) {
      metrics.streamFailures++
      this.dispatch(entry, conn, protocols[0], 'failed', Date.now() - attemptStarted, failover, err.name)
      log('stream %s on %s to %p failed: %e', protocols.join(','), conn.id, entry.peer, err)
      throw err
    } finally {
      limit.clear()
    }
  }

  /**
   * Successful opens are reported when asked to, or when a service on the
   * event bus listens (as `@x/health` does): an event per stream is most of
   * the cost of opening one on loopback. Failures are always reported.
   */
  private reportOpened (): boolean {
    if (this.pool.options.reportStreams) {
      return true
    }

    const events = this.pool.components.events as { listenerCount?(type: string): number }

    return typeof events.listenerCount !== 'function' || events.listenerCount(POOL_STREAM_EVENT) > 0
  }

  /** Whether another connection might succeed where this one failed */
  private isConnectionFailure (err: any, conn: Connection): boolean {
    return conn.status !== 'open' || !NOT_CONNECTION_FAILURES.has(err?.name)
  }

  private dispatch (entry: PeerEntry, conn: Connection, protocol: string, outcome: 'opened' | 'failed', duration: number, failover: boolean, error?: string): void {
    this.pool.components.events.safeDispatchEvent(POOL_STREAM_EVENT, {
      detail: { peer: entry.peer, connectionId: conn.id, protocol, outcome, error, duration, failover }
    })
  }
}
