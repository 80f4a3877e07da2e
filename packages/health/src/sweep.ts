/**
 * When connections are probed. A timer fires every `checkInterval`
 * (jittered; each timer is set when the previous one fires, a fixed rate)
 * and probes every open connection; a connection whose probe is still
 * queued or in flight is not probed twice, but probed again as soon as that
 * probe ends, so a slow probe costs no check and holds up no other
 * connection's. Probes run through one `ProbeQueue`: at most
 * `maxConcurrentProbes` at once; muxer probes per connection; stream probes
 * one per peer at a time (with a lease; never more than two), except for a silent peer (its last
 * stream probe timed out and none answered since), whose probes all run at
 * once: a silent peer resets no stream, and its connections are then found
 * dead together rather than one lease after another.
 */
import { MAX_PEER_STREAM_PROBES, PEER_PROBE_LEASE } from './constants.ts'
import { ProbeQueue } from './probe-queue.ts'
import { plan, runProbe } from './prober.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { ProbeOutcome, ProbePlan } from './prober.ts'
import type { ConnectionRecord } from './record.ts'
import type { Connection, Logger } from '@libp2p/interface'

/** What the sweep needs of the service */
export interface SweepTarget {
  readonly options: ResolvedHealthOptions
  readonly log: Logger
  /** Open connections to probe */
  connections(): Connection[]
  /** The record of a connection, created if new */
  track(connection: Connection): ConnectionRecord
  /** Whether the connection still has a record */
  tracks(record: ConnectionRecord): boolean
  /** A probe ended */
  probed(record: ConnectionRecord, outcome: ProbeOutcome): void
}

export class Sweep {
  private readonly target: SweepTarget
  private readonly queue: ProbeQueue
  /** Probes queued or in flight, by connection id: at most one per open connection */
  private readonly pending = new Map<string, Promise<void>>()
  /** Connections whose check came while their probe was still running: probed again when it ends */
  private readonly due = new Set<string>()
  /** Peers whose last stream probe timed out with no answer since (at most the peers with open connections) */
  private readonly silent = new Set<string>()
  /** Controllers of the probes in flight, aborted by stop() */
  private readonly inflight = new Set<AbortController>()
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  /** Ticks so far */
  ticks = 0

  constructor (target: SweepTarget) {
    this.target = target
    this.queue = new ProbeQueue(target.options.maxConcurrentProbes, Math.min(PEER_PROBE_LEASE, target.options.pingTimeout / 2), MAX_PEER_STREAM_PROBES)
  }

  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.schedule()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)

    for (const controller of this.inflight) {
      controller.abort(new DOMException('the health service stopped', 'AbortError'))
    }

    this.inflight.clear()
    this.due.clear()

    for (const peer of this.silent) {
      this.queue.setUnbounded(`p/${peer}`, false)
    }

    this.silent.clear()
  }

  /** The peer has no open connection left */
  forget (peer: string): void {
    if (this.silent.delete(peer)) {
      this.queue.setUnbounded(`p/${peer}`, false)
    }
  }

  /** Probes every open connection that is not being probed; resolves when each of them was checked */
  async checkAll (): Promise<void> {
    if (!this.running) {
      return
    }

    const waits: Array<Promise<void>> = []

    for (const conn of interleavePeers(this.target.connections())) {
      const record = this.target.track(conn)
      const pending = this.pending.get(conn.id)

      if (pending != null) {
        this.due.add(conn.id)
        waits.push(pending)
      } else {
        waits.push(this.probe(record))
      }
    }

    await Promise.all(waits)
  }

  /** A stream probe that timed out makes its peer silent; any answer makes it live again */
  private notePeer (peer: string, kind: ProbePlan, outcome: ProbeOutcome): void {
    if (outcome.result === 'ok') {
      this.forget(peer)
    } else if (kind === 'stream' && outcome.result === 'failed' && outcome.error === 'TimeoutError' && !this.silent.has(peer)) {
      this.silent.add(peer)
      this.queue.setUnbounded(`p/${peer}`, true)
    }
  }

  private schedule (): void {
    const { checkInterval, checkJitter } = this.target.options
    const delay = checkInterval * (1 + checkJitter * (2 * Math.random() - 1))

    this.timer = setTimeout(() => {
      if (!this.running) {
        return
      }

      this.ticks++
      this.schedule()
      this.checkAll().catch(err => { this.target.log.error('health check failed - %e', err) })
    }, delay)
  }

  private probe (record: ConnectionRecord): Promise<void> {
    const id = record.connection.id
    const { options } = this.target
    const kind = plan(record, options)
    const peer = record.peer.toString()
    const key = kind === 'muxer' ? `c/${id}` : `p/${peer}`

    const done = this.queue.run(key, async () => {
      if (!this.running || record.connection.status !== 'open' || !this.target.tracks(record)) {
        return
      }

      const controller = new AbortController()
      this.inflight.add(controller)

      try {
        const outcome = await runProbe(record, kind, options, controller)

        if (this.running && this.target.tracks(record)) {
          this.notePeer(peer, kind, outcome)
          this.target.probed(record, outcome)
        }
      } finally {
        this.inflight.delete(controller)
      }
    }).finally(() => {
      this.pending.delete(id)

      if (this.due.delete(id) && this.running && this.target.tracks(record) && record.connection.status === 'open') {
        void this.probe(record)
      }
    })

    this.pending.set(id, done)
    return done
  }
}

/**
 * The first connection of every peer, then the second of every peer, ...:
 * with one stream probe per peer at a time, a sweep in this order keeps
 * `maxConcurrentProbes` busy instead of queueing behind one peer
 */
function interleavePeers (connections: Connection[]): Connection[] {
  const open = connections.filter(conn => conn.status === 'open')
  const byPeer = new Map<string, Connection[]>()

  for (const conn of open) {
    const key = conn.remotePeer.toString()
    const list = byPeer.get(key)

    if (list == null) {
      byPeer.set(key, [conn])
    } else {
      list.push(conn)
    }
  }

  if (byPeer.size === open.length) {
    return open
  }

  const lists = [...byPeer.values()]
  const out: Connection[] = []

  for (let i = 0; out.length < open.length; i++) {
    for (const list of lists) {
      if (i < list.length) {
        out.push(list[i])
      }
    }
  }

  return out
}
