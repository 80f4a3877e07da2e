/**
 * Which peers the pool manages, and for how long: the entry of each call's
 * peer (learning the peer of addresses without a peer id from one
 * connection, through `peer-learner.ts`), room at `maxPeers` made by
 * releasing the least recently used idle borrowed peer, releasing a peer (its dials aborted, the connections
 * the pool opened closed, its tag removed), and maintenance: idle expiry,
 * the minimum of kept peers, and their full target after a refusal's hold.
 */
import { AbortError } from '@libp2p/interface'
import { CODE_P2P } from '@multiformats/multiaddr'
import { MAX_ADDRESS_SPELLINGS } from './constants.ts'
import { PoolLimitReachedError, PoolNotStartedError } from './errors.ts'
import { withPeerId } from './peer-address.ts'
import { createPeerEntry } from './peer-entry.ts'
import { PeerLearner } from './peer-learner.ts'
import { isHeld } from './refusal.ts'
import type { ConnectionDialer } from './connection-dialer.ts'
import type { DialTarget } from './peer-address.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { LearnedConnection } from './peer-learner.ts'
import type { PoolContext } from './pool-state.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export class PeerRegistry {
  private readonly pool: PoolContext
  private readonly dialer: ConnectionDialer
  private readonly learner: PeerLearner

  constructor (pool: PoolContext, dialer: ConnectionDialer) {
    this.pool = pool
    this.dialer = dialer
    this.learner = new PeerLearner(pool)
  }

  /**
   * The entry for the call's peer, created if new (making room at
   * `maxPeers` by releasing the least recently used idle borrowed peer). A
   * target without a peer id learns its peer from one connection to its
   * addresses (an open one to the same address, or a new dial).
   */
  async acquire (target: DialTarget, keep: boolean, options: AbortOptions): Promise<{ entry: PeerEntry, created: boolean }> {
    let learned: LearnedConnection | undefined
    let peer = target.peer ?? this.connectedPeerAt(target.addrs)

    if (peer == null) {
      learned = await this.learner.learn(target.addrs, options).catch(err => {
        // stop() aborted the dial: say so as when it ended first
        throw this.pool.isStarted() || options.signal?.aborted === true ? err : new PoolNotStartedError('The connection pool stopped')
      })
      peer = learned.conn.remotePeer

      // stopped while learning: the connection is not wanted
      if (!this.pool.isStarted()) {
        await this.closeLearned(learned)
        throw new PoolNotStartedError('The connection pool stopped')
      }
    }

    let entry = this.pool.state.get(peer)
    const created = entry == null

    if (entry == null) {
      try {
        this.makeRoom(keep)
      } catch (err) {
        await this.closeLearned(learned)
        throw err
      }

      entry = createPeerEntry(peer, Math.max(1, this.pool.options.minConnectionsPerPeer), Date.now())
      this.pool.state.add(entry)
    }

    if (target.addrs.length > 0) {
      entry.addrs = withPeerId(target.addrs, peer)
    }

    if (target.peer == null) {
      this.claimSpellings(entry, target.addrs, learned != null)
    }

    if (learned?.fresh === true) {
      // the caller's address may be another spelling of one the peer is
      // connected on (the open-connection lookup missed it): the learned
      // connection is bound by maxConnectionsPerPeer like any other
      if (this.pool.state.openConnections(peer).length > this.pool.options.maxConnectionsPerPeer) {
        this.pool.log('%p has %d connections open already, closing the one that learned it', peer, this.pool.options.maxConnectionsPerPeer)
        await this.closeLearned(learned)
      } else {
        this.dialer.adopt(entry, learned.conn)
      }
    }

    this.pool.state.refreshStatus(entry)

    return { entry, created }
  }

  /**
   * A managed peer with an open connection that an earlier call gave one of
   * these addresses (without a peer id) for: no dial is needed to learn
   * who answers there, even when the open connections' `remoteAddr` is
   * spelled otherwise (`/dns4/` and `/ip4/`, a resolved `/dnsaddr/`). At
   * most `maxPeers` entries of at most `MAX_ADDRESSES_PER_CALL` addresses
   * are compared.
   */
  private connectedPeerAt (addrs: Multiaddr[]): PeerId | undefined {
    const wanted = [...new Set(addrs.map(ma => ma.toString()))]
    const entries = this.pool.state.entries()

    // a spelling is one peer's at a time (`claimSpellings`), and looking it
    // up costs a few set lookups per peer, not a multiaddr per address
    for (const entry of entries) {
      if (wanted.some(addr => entry.spellings.has(addr)) && this.pool.state.openConnections(entry.peer).length > 0) {
        return entry.peer
      }
    }

    const known = new Set(wanted)

    for (const entry of entries) {
      if (entry.addrs.some(ma => known.has(ma.decapsulateCode(CODE_P2P).toString())) && this.pool.state.openConnections(entry.peer).length > 0) {
        return entry.peer
      }
    }
  }

  /**
   * The addresses (without a peer id) are where the entry's peer answers
   * now: they become its spellings, and stop being another managed peer's
   * spellings; when a connection just answered there (`learned`), they
   * also leave the addresses callers gave other peers with their ids. So
   * an address a restarted service re-used under a new identity no longer
   * leads calls, or re-dials, to the peer that answered there before.
   */
  private claimSpellings (entry: PeerEntry, addrs: Multiaddr[], learned: boolean): void {
    const wanted = new Set(addrs.map(ma => ma.toString()))

    for (const other of this.pool.state.entries()) {
      if (other === entry) {
        continue
      }

      for (const spelling of wanted) {
        other.spellings.delete(spelling)
      }

      if (learned && other.addrs.some(ma => wanted.has(ma.decapsulateCode(CODE_P2P).toString()))) {
        other.addrs = other.addrs.filter(ma => !wanted.has(ma.decapsulateCode(CODE_P2P).toString()))
      }
    }

    rememberSpellings(entry, addrs)
  }

  /** Closes a connection dialled only to learn a peer (not one that was open already) */
  private async closeLearned (learned?: LearnedConnection): Promise<void> {
    if (learned?.fresh === true) {
      await this.learner.close(learned.conn)
    }
  }

  /** Aborts the dials that learn peers (the pool stops) */
  stop (reason: Error): void {
    this.learner.abortAll(reason)
  }

  /** At `maxPeers`, releases the least recently used idle borrowed peer, or throws */
  private makeRoom (keep: boolean): void {
    if (this.pool.state.size < this.pool.options.maxPeers) {
      return
    }

    const victim = this.pool.state.leastRecentlyUsedIdle()

    if (victim == null) {
      throw new PoolLimitReachedError(`The pool manages ${this.pool.state.size} peers already (maxPeers), all kept or busy`)
    }

    this.pool.metrics.evictions++
    this.pool.log('releasing %p, the least recently used idle borrowed peer, to make room%s', victim.peer, keep ? ' for a kept one' : '')
    void this.forget(victim, new AbortError('The connection pool released the peer to make room'))
  }

  /** An entry an aborted call created and that has nothing open goes again, as if never asked */
  dropIfAborted (entry: PeerEntry, created: boolean, options: AbortOptions): void {
    if (created && options.signal?.aborted === true && entry.dialing == null && entry.opened.size === 0 && this.pool.state.isCurrent(entry) && this.pool.state.openConnections(entry.peer).length === 0) {
      clearTimeout(entry.redialTimer)
      this.pool.state.remove(entry)
    }
  }

  /** Stops managing a peer: aborts its dials, closes what the pool opened, removes the tag */
  async forget (entry: PeerEntry, reason: Error, options: AbortOptions = {}): Promise<void> {
    clearTimeout(entry.redialTimer)
    entry.redialTimer = undefined
    this.pool.state.remove(entry)
    entry.controller.abort(reason)

    const closing = this.pool.components.connectionManager.getConnections(entry.peer)
      .filter(conn => entry.opened.has(conn.id))

    await Promise.all(closing.map(async conn => {
      this.pool.state.markClosing(conn.id)
      await conn.close(options).catch(err => { conn.abort(err) })
    }))

    await this.pool.tags.untag(entry)
  }

  /**
   * Idle expiry (surplus connections of kept peers, whole borrowed peers),
   * the per-peer minimum of kept peers and their full target once a
   * refusal's hold has ended; the service runs it every
   * `maintenanceInterval`
   */
  maintain (now = Date.now()): void {
    for (const entry of this.pool.state.entries()) {
      const open = this.pool.state.openConnections(entry.peer)

      if (open.some(conn => conn.streams.length > 0)) {
        entry.lastUsed = now
      }

      if (!entry.kept) {
        if (entry.dialing == null && now - entry.lastUsed >= this.pool.options.idleTimeout) {
          this.pool.log('releasing borrowed peer %p, idle for %dms', entry.peer, now - entry.lastUsed)
          void this.forget(entry, new AbortError('The connection pool released the idle peer'))
        }

        continue
      }

      let remaining = open.length

      for (const conn of open) {
        if (conn.streams.length > 0) {
          this.pool.state.noteActive(conn.id, now)
          continue
        }

        const idleFor = now - (this.pool.state.lastActiveAt(conn.id) ?? now)

        if (remaining > this.pool.options.minConnectionsPerPeer && entry.opened.has(conn.id) && idleFor >= this.pool.options.idleTimeout) {
          remaining--
          entry.target = Math.max(this.pool.options.minConnectionsPerPeer, entry.target - 1)
          this.pool.log('closing %s to %p, idle for %dms', conn.id, entry.peer, idleFor)
          this.pool.state.markClosing(conn.id)
          conn.close().catch(err => { conn.abort(err) })
        }
      }

      // a refusal held keeps the target at what the peer accepted, even
      // below the minimum; once it ends, the full target is asked for again
      // (one top-up), without waiting for the next dial()
      if (this.dialer.endHold(entry, now)) {
        continue
      }

      if (entry.target < this.pool.options.minConnectionsPerPeer && !isHeld(entry.refusal, now)) {
        entry.target = this.pool.options.minConnectionsPerPeer
      }

      if (remaining < Math.min(this.pool.options.minConnectionsPerPeer, entry.target) && entry.status !== 'failed') {
        this.dialer.scheduleRedial(entry)
      }
    }
  }
}

/** Remembers the caller's addresses without a peer id as spellings of the entry's peer (at most `MAX_ADDRESS_SPELLINGS`) */
function rememberSpellings (entry: PeerEntry, addrs: Multiaddr[]): void {
  for (const ma of addrs) {
    const spelling = ma.toString()
    entry.spellings.delete(spelling)
    entry.spellings.add(spelling)
  }

  for (const oldest of entry.spellings) {
    if (entry.spellings.size <= MAX_ADDRESS_SPELLINGS) {
      break
    }

    entry.spellings.delete(oldest)
  }
}
