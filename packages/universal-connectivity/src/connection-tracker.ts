/**
 * Counts connections by the path they took. `relay` comes from the
 * connection itself (`conn.direct`, `conn.limits`); `reversal` and
 * `hole-punch` from the DCUtR tracker (see `dcutr-tracker.ts`).
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
  byPath: Record<ConnectionPath, number>
  active: { total: number, direct: number, relayed: number }
}

export class ConnectionTracker {
  private established = 0
  private inbound = 0
  private outbound = 0
  private closed = 0
  private readonly byPath: Record<ConnectionPath, number> = { direct: 0, relay: 0, reversal: 0, 'hole-punch': 0 }
  private readonly paths = new WeakMap<Connection, ConnectionPath>()

  onOpen (conn: Connection, path: ConnectionPath): void {
    this.paths.set(conn, path)
    this.established++
    this.byPath[path]++

    if (conn.direction === 'inbound') {
      this.inbound++
    } else {
      this.outbound++
    }
  }

  /** The path a connection took, if it opened while the service ran */
  pathOf (conn: Connection): ConnectionPath | undefined {
    return this.paths.get(conn)
  }

  onClose (): void {
    this.closed++
  }

  getStats (connections: Connection[]): ConnectionStats {
    const open = connections.filter(c => c.status === 'open')
    const relayed = open.filter(c => isRelayed(c)).length

    return {
      established: this.established,
      inbound: this.inbound,
      outbound: this.outbound,
      closed: this.closed,
      byPath: { ...this.byPath },
      active: { total: open.length, direct: open.length - relayed, relayed }
    }
  }
}
