/**
 * Dialling for the pool: connections to one peer are opened one after
 * another (concurrent forced dials to a peer are merged by libp2p), each
 * attempt bounded by a timeout and retried with backoff and jitter while the
 * peer is below its minimum. A peer that is reachable but refuses an extra
 * connection is not retried: the refusal is counted and its target lowered.
 */
import { PoolLimitReachedError, PeerDialFailedError, PoolNotStartedError } from './errors.ts'
import { createPeerEntry } from './peer-entry.ts'
import { backoffDelay, isRetryable, sleep } from './retry.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PoolService } from './pool.ts'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'

export class Dialer {
  private readonly pool: PoolService

  constructor (pool: PoolService) {
    this.pool = pool
  }

  /** The peer's entry, created (and counted against maxPeers) if new */
  manage (peer: PeerId): PeerEntry {
    if (!this.pool.isStarted()) {
      throw new PoolNotStartedError('The connection pool is not started')
    }

    let entry = this.pool.peers.get(peer)

    if (entry == null) {
      if (this.pool.peers.size >= this.pool.options.maxPeers) {
        throw new PoolLimitReachedError(`The pool manages ${this.pool.peers.size} peers already (maxPeers)`)
      }

      entry = createPeerEntry(peer, Math.max(1, this.pool.options.minConnectionsPerPeer))
      this.pool.peers.set(peer, entry)
    }

    return entry
  }

  /**
   * Opens connections until the peer has `entry.target`. Resolves when done;
   * rejects only when the peer has no connection at all afterwards.
   */
  async topUp (entry: PeerEntry, options: AbortOptions = {}): Promise<void> {
    while (entry.dialing != null) {
      await entry.dialing.catch(() => {})
    }

    const run = this.runTopUp(entry, options)
    entry.dialing = run

    try {
      await run
    } finally {
      entry.dialing = undefined
      const open = this.pool.openConnections(entry.peer).length

      if (open > 0) {
        this.pool.setStatus(entry, 'connected')
      }
    }
  }

  private async runTopUp (entry: PeerEntry, options: AbortOptions): Promise<void> {
    const { maxConnections } = this.pool.options

    while (this.pool.isStarted() && this.pool.peers.get(entry.peer) === entry) {
      const open = this.pool.openConnections(entry.peer).length

      if (open >= entry.target) {
        return
      }

      if (this.pool.totalConnections() >= maxConnections) {
        this.pool.metrics.dialRefusals++
        entry.target = Math.max(open, 1)
        this.pool.log('not dialling %p: the pool holds maxConnections (%d)', entry.peer, maxConnections)

        if (open === 0) {
          throw new PoolLimitReachedError(`The pool holds maxConnections (${maxConnections}) already`)
        }

        return
      }

      if (open === 0) {
        this.pool.setStatus(entry, 'connecting')
      }

      // below the minimum: retry with backoff; above it: one attempt, and a
      // failure is the peer refusing an extra connection
      const belowMinimum = open < Math.max(1, this.pool.options.minConnectionsPerPeer)

      try {
        await this.dialOnce(entry, belowMinimum ? this.pool.options.retry.maxRetries : 0, options)
      } catch (err) {
        const stillOpen = this.pool.openConnections(entry.peer).length

        if (stillOpen > 0) {
          this.pool.metrics.dialRefusals++
          entry.target = Math.max(stillOpen, this.pool.options.minConnectionsPerPeer)
          this.pool.log('%p refused connection %d: %e', entry.peer, stillOpen + 1, err)
          return
        }

        this.pool.setStatus(entry, 'failed')
        await this.untag(entry.peer)
        throw err
      }
    }
  }

  /** One new connection, with up to `retries` retries */
  private async dialOnce (entry: PeerEntry, retries: number, options: AbortOptions): Promise<Connection> {
    const { retry } = this.pool.options
    let lastError: any
    let attempts = 0

    for (let attempt = 0; attempt <= retries; attempt++) {
      attempts++
      if (attempt > 0) {
        this.pool.metrics.dialRetries++
        await sleep(backoffDelay(attempt, retry), AbortSignal.any([this.pool.signal, ...(options.signal != null ? [options.signal] : [])]))
      }

      this.pool.metrics.dialAttempts++
      const timeout = entry.adaptiveTimeout ?? this.pool.options.dialTimeout
      const signal = AbortSignal.any([AbortSignal.timeout(timeout), this.pool.signal, ...(options.signal != null ? [options.signal] : [])])

      try {
        const conn = await this.pool.components.connectionManager.openConnection(entry.peer, { force: true, signal })
        this.pool.metrics.dialSuccesses++
        entry.opened.add(conn.id)
        entry.redials = 0
        this.pool.lastActive.set(conn.id, Date.now())
        await this.tag(entry.peer)
        this.pool.log('opened %s to %p (%d open)', conn.id, entry.peer, this.pool.openConnections(entry.peer).length)
        return conn
      } catch (err: any) {
        this.pool.metrics.dialFailures++
        lastError = err
        this.pool.log('dial %d to %p failed: %e', attempt + 1, entry.peer, err)

        if (options.signal?.aborted === true || this.pool.signal.aborted || !isRetryable(err)) {
          break
        }
      }
    }

    throw new PeerDialFailedError(`Could not open a connection to ${entry.peer}: ${lastError?.message}`, attempts, { cause: lastError })
  }

  /** Re-dial a peer that dropped below its target, after a backoff delay */
  scheduleRedial (entry: PeerEntry): void {
    if (entry.redialTimer != null || entry.dialing != null || !this.pool.isStarted()) {
      return
    }

    entry.redials++
    const delay = backoffDelay(entry.redials, this.pool.options.retry)
    this.pool.log('re-dialling %p in %dms', entry.peer, delay)

    entry.redialTimer = setTimeout(() => {
      entry.redialTimer = undefined
      this.topUp(entry).catch(err => {
        this.pool.log.error('re-dial of %p failed: %e', entry.peer, err)
      })
    }, delay)
  }

  async tag (peer: PeerId): Promise<void> {
    const { tagName, tagValue } = this.pool.options

    await this.pool.components.peerStore.merge(peer, { tags: { [tagName]: { value: tagValue } } })
      .catch(err => { this.pool.log.error('could not tag %p: %e', peer, err) })
  }

  async untag (peer: PeerId): Promise<void> {
    await this.pool.components.peerStore.merge(peer, { tags: { [this.pool.options.tagName]: undefined } })
      .catch(err => { this.pool.log.error('could not untag %p: %e', peer, err) })
  }
}
