/**
 * The soak's ledger: every connection of every js node (with the ports of
 * its TCP socket, to tell which proxied connection a fault hit), the
 * connection each stream was opened on, the batching streams of each pair of
 * nodes, and the faults the soak injected. It explains a failed attempt only
 * by what happened to the connection it ran on:
 *
 * - the connection died: it closed while the attempt was in flight, or
 * within `DEATH_GRACE` after the attempt failed (health closes a dead
 * connection a few checks after the request on it timed out);
 * - a fault was injected on that connection while the attempt was in flight
 * (or up to `FAULT_GRACE` after the fault ended): its go peer stopped or
 * killed, or the fault proxy's latency, black hole or reset on that very
 * proxied connection.
 *
 * An attempt that got no stream is judged by the connections the pool tried
 * for it (each must be explained). One that tried none (no connection was
 * left, the pool dialled) is explained by a fault on the path to its peer,
 * or by the death of the node's last connections to that peer just before
 * (within `DEATH_GRACE`): there was none left to run on. The close of
 * another connection to the same peer explains nothing for an attempt that
 * ran on, or tried, a connection of its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

export interface ConnRecord {
  /** `n<node>/<connection id>` */
  key: string
  node: number
  id: string
  peer: string
  openedAt: number
  closedAt?: number
  /** Ports of the TCP socket under it, when there is one */
  localPort?: number
  remotePort?: number
}

/** Which proxied connections a fault hits: by the ports the proxy sees */
export interface ProxiedSockets {
  /** The proxy's client side: the client node's local port */
  clientPort: number
  /** The proxy's upstream side: the remote port the server node sees */
  upstreamPort: number
}

export interface Fault {
  kind: string
  detail: string
  start: number
  /** Infinity while it lasts */
  end: number
  /** Every connection to this peer (a go peer stopped or killed) */
  peer?: string
  /** These proxied connections (the fault proxy's latency, black hole, reset) */
  proxied?: ProxiedSockets[]
}

/** One try of a request, message or echo */
export interface Attempt {
  startedAt: number
  /** When it failed (0 while in flight) */
  at: number
  error?: string
  /** The connection its stream ran on (`ConnRecord.key`) */
  connection?: string
  /** Connections the pool tried to open its stream on */
  tried: string[]
}

/** The two nodes of the proxied link */
export interface ProxiedLink {
  client: number
  server: number
  clientPeer: string
  serverPeer: string
}

/** How long after an attempt failed the death of its connection still explains it, ms */
export const DEATH_GRACE = 10_000
/** How long after a fault ended it still explains an attempt on its connection, ms */
export const FAULT_GRACE = 10_000
/** A close event may be dispatched a moment before an attempt on that connection is seen to start, ms */
const CLOSE_SKEW = 1_000
/** Connections remembered (the oldest closed ones go first); a 30-minute soak opens a few thousand */
export const MAX_CONNECTIONS = 50_000
/** Batching streams remembered per pair of nodes */
const MAX_BATCH_STREAMS = 64

interface BatchStream {
  connection: string
  openedAt: number
  closedAt?: number
  /** The open failed (no stream) */
  failed?: boolean
}

type NewStream = Connection['newStream']

export class Ledger {
  readonly connections = new Map<string, ConnRecord>()
  readonly faults: Fault[] = []
  private readonly streams = new WeakMap<Stream, ConnRecord>()
  private readonly batchStreams = new Map<string, BatchStream[]>()
  private readonly attempts = new AsyncLocalStorage<Attempt>()
  private readonly link?: ProxiedLink
  private readonly batchPrefix: string
  /** When the soak began to shut down (`seal()`) */
  private sealedAt?: number

  /**
   * `link`: the proxied link, when there is one; `batchPrefix`: protocols of
   * batching streams start with it (`/x/batch/`: every version)
   */
  constructor (init: { link?: ProxiedLink, batchPrefix: string }) {
    this.link = init.link
    this.batchPrefix = init.batchPrefix
  }

  /** Records every connection of the node, now and from now on */
  watch (node: Libp2p, index: number): void {
    node.getConnections().forEach(conn => this.opened(index, conn))
    node.addEventListener('connection:open', (evt) => { this.opened(index, evt.detail) })
    node.addEventListener('connection:close', (evt) => { this.closed(index, evt.detail) })
  }

  opened (node: number, conn: Connection, now = Date.now()): ConnRecord {
    const key = `n${node}/${conn.id}`
    const known = this.connections.get(key)

    if (known != null) {
      return known
    }

    const socket = (conn as unknown as { maConn?: { socket?: { localPort?: number, remotePort?: number } } }).maConn?.socket
    const record: ConnRecord = { key, node, id: conn.id, peer: conn.remotePeer.toString(), openedAt: now, localPort: socket?.localPort, remotePort: socket?.remotePort }
    this.connections.set(key, record)
    this.evict()
    this.tap(conn, record)
    return record
  }

  closed (node: number, conn: Connection, now = Date.now()): void {
    if (this.sealedAt != null && now >= this.sealedAt) {
      return
    }

    const record = this.connections.get(`n${node}/${conn.id}`)

    if (record != null) {
      record.closedAt ??= now
    }
  }

  /**
   * From `now` on, closes are the soak's own shutdown (the swarm's stop
   * closes every connection): they are not recorded, so they explain no
   * loss (judged after the stop, every loss of the last 10 s was "explained")
   */
  seal (now = Date.now()): void {
    this.sealedAt ??= now
  }

  /** Runs `fn` as `attempt`: the connections it opens streams on are noted in it */
  async attempt <T> (attempt: Attempt, fn: () => Promise<T>): Promise<T> {
    return this.attempts.run(attempt, fn)
  }

  connectionOf (stream: Stream): ConnRecord | undefined {
    return this.streams.get(stream)
  }

  addFault (fault: Fault): Fault {
    this.faults.push(fault)
    return fault
  }

  /**
   * The attempt of a batched message or request from `node` to `peer`: the
   * batching stream that carried it (the last one opened before it failed
   * that was still open when it started), or the failed opens meanwhile
   */
  batchAttempt (node: number, peer: string, startedAt: number, at: number, error: string): Attempt {
    const list = this.batchStreams.get(`${node}>${peer}`) ?? []
    const carrier = list.findLast(s => s.failed !== true && s.openedAt <= at && (s.closedAt == null || s.closedAt >= startedAt))
    const tried = list.filter(s => s.failed === true && s.openedAt >= startedAt - CLOSE_SKEW && s.openedAt <= at).map(s => s.connection)
    return { startedAt, at, error, connection: carrier?.connection, tried: carrier == null ? tried : [] }
  }

  /** Why the attempt failed, or undefined when nothing that happened to its connection explains it */
  explainAttempt (node: number, peer: string, attempt: Attempt): string | undefined {
    const keys = attempt.connection != null ? [attempt.connection] : attempt.tried

    if (keys.length > 0) {
      const reasons = keys.map(key => this.connectionReason(key, attempt))
      return reasons.every(r => r != null) ? reasons.join('; ') : undefined
    }

    const fault = this.faults.find(f => this.onPath(f, node, peer) && overlaps(f, attempt))

    if (fault != null) {
      return `no connection (dialled) while ${fault.detail}`
    }

    const died = this.lastDeath(node, peer, attempt.startedAt - DEATH_GRACE, attempt.at)
    return died == null ? undefined : `no connection left: ${died.key} closed`
  }

  /** The last connection from `node` to `peer` that closed between `from` and `to`, when none of them is open */
  private lastDeath (node: number, peer: string, from: number, to: number): ConnRecord | undefined {
    let last: ConnRecord | undefined

    for (const c of this.connections.values()) {
      if (c.node !== node || c.peer !== peer) {
        continue
      }

      if (c.closedAt == null && c.openedAt <= from) {
        // one was open all along: the attempt could have used it
        return undefined
      }

      if (c.closedAt != null && c.closedAt >= from && c.closedAt <= to && (last?.closedAt ?? -Infinity) < c.closedAt) {
        last = c
      }
    }

    return last
  }

  private connectionReason (key: string, attempt: Attempt): string | undefined {
    const conn = this.connections.get(key)

    if (conn == null) {
      return undefined
    }

    if (conn.closedAt != null && conn.closedAt >= attempt.startedAt - CLOSE_SKEW && conn.closedAt <= attempt.at + DEATH_GRACE) {
      return `${key} closed`
    }

    const fault = this.faults.find(f => this.hits(f, conn) && overlaps(f, attempt))
    return fault == null ? undefined : `${fault.detail} (${key})`
  }

  private hits (fault: Fault, conn: ConnRecord): boolean {
    if (fault.peer != null) {
      return conn.peer === fault.peer
    }

    const link = this.link

    if (fault.proxied == null || link == null) {
      return false
    }

    return fault.proxied.some(p =>
      (conn.node === link.client && conn.peer === link.serverPeer && conn.localPort === p.clientPort) ||
      (conn.node === link.server && conn.peer === link.clientPeer && conn.remotePort === p.upstreamPort)
    )
  }

  /** Whether the fault lies on the way from `node` to `peer` (for an attempt that had to dial) */
  private onPath (fault: Fault, node: number, peer: string): boolean {
    if (fault.peer != null) {
      return fault.peer === peer
    }

    const link = this.link
    return fault.proxied != null && link != null &&
      ((node === link.client && peer === link.serverPeer) || (node === link.server && peer === link.clientPeer))
  }

  /** Notes the connection of every stream opened on it, and the attempt that opened it */
  private tap (conn: Connection, record: ConnRecord): void {
    const original: NewStream = conn.newStream
    const ledger = this

    try {
      conn.newStream = async function (this: Connection, protocols, options) {
        ledger.attempts.getStore()?.tried.push(record.key)
        const batch = [protocols].flat().some(p => p.startsWith(ledger.batchPrefix)) ? ledger.batchStream(record) : undefined

        try {
          const stream = await original.call(this, protocols, options)
          ledger.streams.set(stream, record)

          if (batch != null) {
            stream.addEventListener('close', () => { batch.closedAt = Date.now() })
          }

          return stream
        } catch (err) {
          if (batch != null) {
            batch.failed = true
          }

          throw err
        }
      } as NewStream
    } catch {
      // a connection whose newStream cannot be replaced: its streams stay unattributed (and so unexplained)
    }
  }

  private batchStream (record: ConnRecord): BatchStream {
    const pair = `${record.node}>${record.peer}`
    let list = this.batchStreams.get(pair)

    if (list == null) {
      list = []
      this.batchStreams.set(pair, list)
    }

    const entry: BatchStream = { connection: record.key, openedAt: Date.now() }
    list.push(entry)

    if (list.length > MAX_BATCH_STREAMS) {
      list.shift()
    }

    return entry
  }

  private evict (): void {
    if (this.connections.size <= MAX_CONNECTIONS) {
      return
    }

    for (const [key, record] of this.connections) {
      if (record.closedAt != null) {
        this.connections.delete(key)
        return
      }
    }
  }
}

function overlaps (fault: Fault, attempt: Attempt): boolean {
  return fault.start <= attempt.at && fault.end + FAULT_GRACE >= attempt.startedAt
}
