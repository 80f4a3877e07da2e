/**
 * Stream placement and failover: the strategy picks a connection; if the
 * stream cannot be opened because that connection closed, reset or timed
 * out, the next one is tried (each at most once), and only then a new
 * connection is dialled. Relayed (limited) connections are used only when
 * the caller allows it and no direct connection is open.
 */
import { NOT_CONNECTION_FAILURES, POOL_STREAM_EVENT } from '@x/interface'
import { NoConnectionAvailableError } from './errors.ts'
import type { ConnectionCandidate, PoolNewStreamOptions } from './index.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PoolService } from './pool.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export class StreamOpener {
  private readonly pool: PoolService

  constructor (pool: PoolService) {
    this.pool = pool
  }

  /** Open connections the strategy may use for this call */
  candidates (peer: PeerId, runOnLimitedConnection = false): ConnectionCandidate[] {
    // limited (relayed) connections only when the caller allows them, and
    // direct connections always first
    const usable = this.pool.openConnections(peer).filter(conn => conn.limits == null || runOnLimitedConnection)
    const direct = usable.filter(conn => conn.direct)
    const chosen = direct.length > 0 ? direct : usable

    return chosen.map(connection => ({
      connection,
      openStreams: connection.streams.length,
      health: this.pool.health.get(connection.id)
    }))
  }

  private select (entry: PeerEntry, candidates: ConnectionCandidate[], protocols: string[], advance: boolean): Connection | undefined {
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

  peek (peer: PeerId): Connection | undefined {
    const entry = this.pool.peers.get(peer)

    return entry == null ? undefined : this.select(entry, this.candidates(peer), [], false)
  }

  async newStream (peer: PeerId, protocols: string[], options: PoolNewStreamOptions): Promise<Stream> {
    const entry = this.pool.dialer.manage(peer)

    // a peer first used through connections someone else opened
    if (entry.status !== 'connected' && entry.dialing == null && this.pool.openConnections(peer).length > 0) {
      this.pool.setStatus(entry, 'connected')
      await this.pool.dialer.tag(peer)
    }
    const started = Date.now()
    const tried = new Set<string>()
    let lastError: any

    while (true) {
      const remaining = this.candidates(peer, options.runOnLimitedConnection).filter(c => !tried.has(c.connection.id))
      const conn = this.select(entry, remaining, protocols, tried.size === 0)

      if (conn == null) {
        break
      }

      tried.add(conn.id)

      try {
        return await this.openOn(entry, conn, protocols, options, started, tried.size > 1)
      } catch (err: any) {
        lastError = err

        if (!this.isConnectionFailure(err, conn, options)) {
          throw err
        }
      }
    }

    // every open connection failed (or there was none): dial a new one
    try {
      await this.pool.dialer.topUp(entry, options)
    } catch (err: any) {
      throw new NoConnectionAvailableError(`No connection to ${peer} could open a stream for ${protocols.join(', ')}: ${(lastError ?? err).message}`, { cause: lastError ?? err })
    }

    const fresh = this.candidates(peer, options.runOnLimitedConnection).filter(c => !tried.has(c.connection.id))
    const conn = this.select(entry, fresh, protocols, tried.size === 0)

    if (conn == null) {
      throw new NoConnectionAvailableError(`No connection to ${peer} could open a stream for ${protocols.join(', ')}${lastError != null ? `: ${lastError.message}` : ''}`, { cause: lastError })
    }

    return this.openOn(entry, conn, protocols, options, started, tried.size > 0)
  }

  private async openOn (entry: PeerEntry, conn: Connection, protocols: string[], options: PoolNewStreamOptions, started: number, failover: boolean): Promise<Stream> {
    const attemptStarted = Date.now()
    const signal = options.signal ?? AbortSignal.timeout(entry.adaptiveTimeout ?? this.pool.options.streamOpenTimeout)

    try {
      const stream = await conn.newStream(protocols, { ...options, signal })
      const now = Date.now()
      this.pool.lastActive.set(conn.id, now)
      this.pool.used.add(conn.id)
      this.pool.metrics.recordStreamOpened(now - started, now)

      if (failover) {
        this.pool.metrics.failovers++
      }

      if (this.reportOpened()) {
        this.dispatch(entry, conn, stream.protocol, 'opened', now - attemptStarted, failover)
      }

      return stream
    } catch (err: any) {
      this.pool.metrics.streamFailures++
      this.dispatch(entry, conn, protocols[0], 'failed', Date.now() - attemptStarted, failover, err.name)
      this.pool.log('stream %s on %s to %p failed: %e', protocols.join(','), conn.id, entry.peer, err)
      throw err
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

  private isConnectionFailure (err: any, conn: Connection, options: PoolNewStreamOptions): boolean {
    if (options.signal?.aborted === true) {
      return false
    }

    return conn.status !== 'open' || !NOT_CONNECTION_FAILURES.has(err?.name)
  }

  private dispatch (entry: PeerEntry, conn: Connection, protocol: string, outcome: 'opened' | 'failed', duration: number, failover: boolean, error?: string): void {
    this.pool.components.events.safeDispatchEvent(POOL_STREAM_EVENT, {
      detail: { peer: entry.peer, connectionId: conn.id, protocol, outcome, error, duration, failover }
    })
  }
}
