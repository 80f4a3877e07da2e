/**
 * Learning who answers at addresses without a peer id: one connection to
 * those addresses, an open one if there is one, else one dial shared by
 * every call that asks for the same addresses while it runs.
 *
 * Each caller waits with its own signal: one caller aborting rejects only
 * that call, and the shared dial is aborted only when every caller waiting
 * for it has aborted, or the pool stops. A dial that completes after that
 * is closed. Exactly one caller receives a dialled connection as `fresh`
 * (to adopt it, or to close it if it cannot be used).
 *
 * Bounds: at most `MAX_LEARNING_DIALS` shared dials at once, and none
 * while the pool holds `maxConnections` (one more call gets
 * `PoolLimitReachedError` without dialling); the registry closes a learned
 * connection that would take its peer above `maxConnectionsPerPeer`; each is one attempt of at
 * most `dialTimeout`, and leaves the map when it settles or is aborted.
 * Calls for overlapping but different address lists do not share a dial
 * (libp2p's dial queue joins dials to the same address).
 */
import { AbortError } from '@libp2p/interface'
import { CODE_P2P } from '@multiformats/multiaddr'
import { MAX_LEARNING_DIALS } from './constants.ts'
import { PeerDialFailedError, PoolLimitReachedError } from './errors.ts'
import { anySignal, raceSignal, timeout } from './time.ts'
import type { PoolContext } from './pool-state.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface LearnedConnection {
  conn: Connection

  /** The pool dialled it for this call: adopt it, or close it if unused */
  fresh: boolean
}

interface SharedDial {
  promise: Promise<Connection>
  controller: AbortController
  /** Callers waiting for it */
  waiters: number
  settled: boolean
  /** A caller received the connection */
  claimed: boolean
}

export class PeerLearner {
  private readonly pool: PoolContext
  private readonly dials = new Map<string, SharedDial>()

  constructor (pool: PoolContext) {
    this.pool = pool
  }

  /** Shared dials under way */
  get size (): number {
    return this.dials.size
  }

  async learn (addrs: Multiaddr[], options: AbortOptions): Promise<LearnedConnection> {
    options.signal?.throwIfAborted()

    const wanted = new Set(addrs.map(ma => ma.toString()))
    const existing = this.pool.components.connectionManager.getConnections()
      .find(conn => conn.status === 'open' && wanted.has(conn.remoteAddr.decapsulateCode(CODE_P2P).toString()))

    if (existing != null) {
      return { conn: existing, fresh: false }
    }

    const key = [...wanted].sort().join(' ')
    let shared = this.dials.get(key)

    if (shared == null) {
      if (this.dials.size >= MAX_LEARNING_DIALS) {
        this.pool.metrics.limitedDials++
        throw new PoolLimitReachedError(`${MAX_LEARNING_DIALS} dials to learn the peers of addresses without a peer id are under way already`)
      }

      if (this.pool.state.totalConnections() >= this.pool.options.maxConnections) {
        this.pool.metrics.limitedDials++
        throw new PoolLimitReachedError(`The pool holds maxConnections (${this.pool.options.maxConnections}) already`)
      }

      shared = this.start(key, addrs)
    }

    shared.waiters++
    let conn: Connection | undefined

    try {
      conn = await raceSignal(shared.promise, options.signal)
      const fresh = !shared.claimed
      shared.claimed = true

      return { conn, fresh }
    } finally {
      shared.waiters--

      if (conn == null && shared.waiters === 0) {
        this.abandon(key, shared)
      }
    }
  }

  /** Aborts every shared dial (the pool stops) */
  abortAll (reason: Error): void {
    for (const [key, shared] of this.dials) {
      this.dials.delete(key)
      shared.controller.abort(reason)
    }
  }

  /** The last caller gave up: abort the dial, or close what it brought that nobody took */
  private abandon (key: string, shared: SharedDial): void {
    if (!shared.settled) {
      if (this.dials.get(key) === shared) {
        this.dials.delete(key)
      }

      shared.controller.abort(new AbortError('Every caller waiting for the dial aborted'))
      return
    }

    if (!shared.claimed) {
      shared.claimed = true
      shared.promise.then(async conn => { await this.close(conn) }, () => {})
    }
  }

  private start (key: string, addrs: Multiaddr[]): SharedDial {
    const { components, metrics, options, log } = this.pool
    const controller = new AbortController()
    const shared: SharedDial = { controller, waiters: 0, settled: false, claimed: false, promise: Promise.resolve() as any }

    shared.promise = (async () => {
      const limit = timeout(options.dialTimeout)
      metrics.dialAttempts++

      try {
        const conn = await components.connectionManager.openConnection(addrs, { force: true, signal: anySignal(controller.signal, limit.signal) })
        metrics.dialSuccesses++

        // every caller gave up, or the pool stopped, while libp2p finished the dial
        if (controller.signal.aborted) {
          await this.close(conn)
          throw controller.signal.reason
        }

        return conn
      } catch (err: any) {
        if (controller.signal.aborted) {
          throw controller.signal.reason
        }

        metrics.dialFailures++
        log('dial to learn the peer at %s failed: %e', key, err)
        throw new PeerDialFailedError(`Could not open a connection to ${key}: ${err?.message}`, 1, { cause: err })
      } finally {
        limit.clear()
        shared.settled = true

        if (this.dials.get(key) === shared) {
          this.dials.delete(key)
        }
      }
    })()

    // a dial whose callers all aborted has nobody to reject to
    shared.promise.catch(() => {})
    this.dials.set(key, shared)

    return shared
  }

  /** Closes a connection dialled only to learn a peer */
  async close (conn: Connection): Promise<void> {
    this.pool.state.markClosing(conn.id)
    await conn.close().catch(err => { conn.abort(err) })
  }
}
