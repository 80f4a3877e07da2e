/**
 * What `@x/health` knows of each peer, heard from its `connection:health`
 * events (no import of the health service): the best score among the peer's
 * open connections. Used to order relay candidates. Bounded to
 * `MAX_HEALTH_PEERS` peers, least recently heard forgotten first.
 */
import type { ConnectionHealthSnapshot } from '@x/interface'

export class HealthScores {
  private readonly peers = new Map<string, Map<string, number>>()
  private readonly max: number

  constructor (max: number) {
    this.max = max
  }

  record (snapshot: ConnectionHealthSnapshot): void {
    const key = snapshot.peer.toString()
    const conns = this.peers.get(key) ?? new Map<string, number>()
    this.peers.delete(key)

    if (snapshot.state === 'closed') {
      conns.delete(snapshot.connectionId)
    } else if (Number.isFinite(snapshot.score)) {
      conns.set(snapshot.connectionId, snapshot.score)
    }

    if (conns.size === 0) {
      return
    }

    this.peers.set(key, conns)

    while (this.peers.size > this.max) {
      const oldest = this.peers.keys().next().value

      if (oldest == null) {
        break
      }

      this.peers.delete(oldest)
    }
  }

  /** The best score of the peer's connections, or undefined if health has not measured it */
  scoreOf (peer: string): number | undefined {
    const conns = this.peers.get(peer)
    return conns == null ? undefined : Math.max(...conns.values())
  }
}
