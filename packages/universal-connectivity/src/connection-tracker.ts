/**
 * Counts connections by the path they took. The path comes from the
 * connection itself (`conn.direct`, `conn.limits`) and, for `hole-punch`,
 * from the DCUtR tracker having an attempt pending for that peer.
 *
 * libp2p has no dial-failure event, so `failed` counts the dials that
 * `dialPeer` gave up on (each also dispatched as `connectivity:dial-failed`).
 */
import { isRelayed } from './addresses.ts'
import type { Connection } from '@libp2p/interface'
import type { ConnectionPath } from '@x/interface'

export interface ConnectionStats {
  /** Connections opened since start, by either side */
  established: number
  inbound: number
  outbound: number
  closed: number
  /** Dials through `dialPeer` that failed on every path */
  failed: number
  byPath: Record<ConnectionPath, number>
  active: { total: number, direct: number, relayed: number }
}

export class ConnectionTracker {
  private established = 0
  private inbound = 0
  private outbound = 0
  private closed = 0
  private failed = 0
  private readonly byPath: Record<ConnectionPath, number> = { direct: 0, relay: 0, 'hole-punch': 0 }

  onOpen (conn: Connection, upgraded: boolean): ConnectionPath {
    let path: ConnectionPath = upgraded ? 'hole-punch' : 'direct'

    if (isRelayed(conn)) {
      path = 'relay'
    }

    this.established++
    this.byPath[path]++

    if (conn.direction === 'inbound') {
      this.inbound++
    } else {
      this.outbound++
    }

    return path
  }

  onClose (): void {
    this.closed++
  }

  onDialFailed (): void {
    this.failed++
  }

  getStats (connections: Connection[]): ConnectionStats {
    const open = connections.filter(c => c.status === 'open')
    const relayed = open.filter(c => isRelayed(c)).length

    return {
      established: this.established,
      inbound: this.inbound,
      outbound: this.outbound,
      closed: this.closed,
      failed: this.failed,
      byPath: { ...this.byPath },
      active: { total: open.length, direct: open.length - relayed, relayed }
    }
  }
}
