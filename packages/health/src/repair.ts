/**
 * Replacing unhealthy connections. The replacement is dialled first; the
 * old connection is closed once its streams have drained or the grace time
 * passed, and never when that would leave the peer below
 * `minConnectionsPerPeer` - unless it is dead (it failed every probe and
 * carried no stream since it degraded), in which case it is closed even if
 * it is the last one, and the peer is re-dialled. Peers carrying the
 * protected tag are never touched.
 *
 * A replacement dial that fails holds further replacements of that peer
 * back, doubling from `checkInterval x unhealthyChecksBeforeReplace` up to
 * `MAX_REPLACE_BACKOFF`, so an unreachable peer is not re-dialled on every
 * check; a replacement that succeeds clears the hold.
 */
import { MAX_REPLACE_BACKOFF, REDIAL_ATTEMPTS } from './constants.ts'
import type { HealthService } from './health.ts'
import type { ConnectionRecord } from './record.ts'
import type { Connection, PeerId } from '@libp2p/interface'

export class Repairer {
  private readonly service: HealthService
  private readonly redialing = new Set<string>()
  /** Per peer with a failed replacement dial: failures in a row, and when the next dial may start */
  private readonly held = new Map<string, { failures: number, until: number }>()

  constructor (service: HealthService) {
    this.service = service
  }

  private async isProtected (peer: PeerId): Promise<boolean> {
    try {
      const stored = await this.service.components.peerStore.get(peer)
      return stored.tags.has(this.service.options.protectedTag)
    } catch {
      return false
    }
  }

  /** Dead: failed every recent probe and no stream succeeded since it degraded */
  isDead (record: ConnectionRecord): boolean {
    return record.consecutiveFailures >= this.service.options.unhealthyChecksBeforeReplace && record.streamsOkSinceDegraded === 0
  }

  async repair (record: ConnectionRecord): Promise<void> {
    if (record.replacing) {
      return
    }

    record.replacing = true
    const { components, options, log } = this.service
    const peer = record.peer

    try {
      if (await this.isProtected(peer)) {
        log('%p is protected: leaving unhealthy %s open', peer, record.connection.id)
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

        if (hold != null && now < hold.until) {
          log.trace('replacement of %s to %p held back for %dms after %d failed dials', record.connection.id, peer, hold.until - now, hold.failures)
          return
        }

        try {
          replacement = await components.connectionManager.openConnection(peer, { force: true, signal: AbortSignal.timeout(this.service.getTimeout(peer)) })
          this.held.delete(key)
        } catch (err) {
          const failures = (hold?.failures ?? 0) + 1
          const base = options.checkInterval * options.unhealthyChecksBeforeReplace
          this.held.set(key, { failures, until: Date.now() + Math.min(MAX_REPLACE_BACKOFF, base * 2 ** (failures - 1)) })
          log('could not dial a replacement for %s to %p (failure %d) - %e', record.connection.id, peer, failures, err)
        }
      }

      const others = components.connectionManager.getConnections(peer).filter(c => c.status === 'open' && c.id !== record.connection.id)

      if (others.length < options.minConnectionsPerPeer && !dead) {
        log('keeping unhealthy %s: %p would drop below %d connections', record.connection.id, peer, options.minConnectionsPerPeer)
        return
      }

      await this.drain(record.connection, dead ? 0 : options.replaceGrace)
      record.event('replaced', Date.now())
      this.service.replacements++
      log('replacing %s to %p (score %d, dead %s) by %s', record.connection.id, peer, record.score.toFixed(2), dead, replacement?.id ?? 'none')

      if (dead) {
        record.connection.abort(new Error('connection failed every health probe'))
      } else {
        await record.connection.close().catch(err => { record.connection.abort(err) })
      }
    } finally {
      record.replacing = false
    }
  }

  /** Peers held back for replacement dials right now */
  get heldPeers (): number {
    return this.held.size
  }

  /** Forgets holds long expired, so the map only holds peers that failed recently */
  private releaseExpired (now: number): void {
    for (const [key, hold] of this.held) {
      if (now > hold.until + MAX_REPLACE_BACKOFF) {
        this.held.delete(key)
      }
    }
  }

  /** Waits until no stream is open on the connection, or the grace time passed */
  private async drain (connection: Connection, grace: number): Promise<void> {
    const deadline = Date.now() + grace

    while (connection.streams.length > 0 && Date.now() < deadline && connection.status === 'open') {
      await new Promise(resolve => setTimeout(resolve, Math.min(100, grace)))
    }
  }

  /** Resolves after `ms`, or at once when the service stops */
  private async wait (ms: number): Promise<void> {
    const signal = this.service.signal

    await new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', done)
        resolve()
      }, ms)
      const done = (): void => {
        clearTimeout(timer)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
    })
  }

  /** After a dead connection closed: re-dial its peer if nothing is left */
  onClosed (record: ConnectionRecord): void {
    const { components, options, log } = this.service
    const key = record.peer.toString()

    if (!record.events.some(e => e.event === 'replaced') || this.redialing.has(key)) {
      return
    }

    this.redialing.add(key)

    void (async () => {
      try {
        for (let attempt = 1; attempt <= REDIAL_ATTEMPTS && this.service.isStarted(); attempt++) {
          if (components.connectionManager.getConnections(record.peer).some(c => c.status === 'open')) {
            return
          }

          try {
            await components.connectionManager.openConnection(record.peer, { signal: AbortSignal.timeout(options.pingTimeout) })
            log('re-dialled %p after replacing a dead connection', record.peer)
            return
          } catch (err) {
            log('re-dial %d of %p failed - %e', attempt, record.peer, err)
            await this.wait(options.checkInterval)
          }
        }
      } finally {
        this.redialing.delete(key)
      }
    })()
  }
}
