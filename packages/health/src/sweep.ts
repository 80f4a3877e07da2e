/**
 * When connections are probed. A timer fires every `checkInterval`
 * (jittered; each timer is set when the previous one fires, a fixed rate)
 * and probes every open connection; a connection whose probe is still
 * queued or in flight is not probed twice, but probed again as soon as that
 * probe ends, so a slow probe costs no check and holds up no other
 * connection's. Probes run through one `ProbeQueue`: at most
 * `maxConcurrentProbes` at once; muxer probes per connection; stream probes
 * one per peer at a time (with a lease), never more than two per peer at
 * once (`MAX_PEER_STREAM_PROBES`: go-libp2p resets a peer's third inbound
 * ping stream, also when it wakes up after a stop).
 *
 * A peer whose last stream probe timed out with none answered since it
 * started has its two stream probes run without the lease. It is silent
 * once probes on two of its connections timed out so: then a connection of
 * it whose stream probe waited for them is judged without a stream of its
 * own (after the peer's stream probes in flight ended unanswered): when a
 * probe of that peer that started after it was queued timed out and not one
 * byte came in on the connection meanwhile, it failed too. One dead
 * connection is not a silent peer: the others are probed. So all of
 * a silent peer's connections get a check every interval (they are found
 * dead together, within the bound of one connection) and the peer never
 * sees more than two ping streams. Any answer makes the peer live again.
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
  /**
   * Peers whose last stream probe timed out with no answer since it started
   * (at most the peers with open connections)
   */
  private readonly silent = new Map<string, Silence>()
  /**
   * When a probe of each peer last came back answered (peers with open
   * connections, at most): a timeout of a probe that started before then is
   * its connection's, not the peer's
   */
  private readonly answered = new Map<string, number>()
  /** Aborted by stop(): the signal of every muxer probe (a stream probe has its own controller, which its timeout aborts) */
  private shared = new AbortController()
  /** Stream probes in flight, per peer (at most `MAX_PEER_STREAM_PROBES` a peer; a peer's entry goes with its last probe) */
  private readonly streaming = new Map<string, Set<Promise<unknown>>>()
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
    this.shared = new AbortController()
    this.schedule()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)

    const stopped = new DOMException('the health service stopped', 'AbortError')
    this.shared.abort(stopped)

    for (const controller of this.inflight) {
      controller.abort(stopped)
    }

    this.inflight.clear()
    this.due.clear()

    for (const peer of this.silent.keys()) {
      this.queue.setUnbounded(`p/${peer}`, false)
    }

    this.silent.clear()
    this.answered.clear()
  }

  /** The peer has no open connection left */
  forget (peer: string): void {
    this.answered.delete(peer)
    this.unsilence(peer)
  }

  private unsilence (peer: string): void {
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

    const { order, perPeer } = interleavePeers(this.target.connections())

    for (const conn of order) {
      const record = this.target.track(conn)
      record.peerConnections = perPeer.get(conn.remotePeer.toString()) ?? 1
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

  /**
   * A stream probe (on connection `id`, started at `started`) that timed out
   * makes its peer suspect, unless a probe of that peer was answered since
   * it started; a second connection's such timeout makes it silent. Any
   * answer makes it live again
   */
  private notePeer (peer: string, id: string, kind: ProbePlan, outcome: ProbeOutcome, started: number): void {
    if (outcome.result === 'ok') {
      this.answered.set(peer, Date.now())
      this.unsilence(peer)
    } else if (kind === 'stream' && outcome.result === 'failed' && outcome.error === 'TimeoutError' && (this.answered.get(peer) ?? -Infinity) < started) {
      if (!this.silent.has(peer)) {
        this.queue.setUnbounded(`p/${peer}`, true)
      }

      const silence = this.silent.get(peer)

      if (silence == null) {
        this.silent.set(peer, { since: started, first: id, confirmed: false })
      } else {
        silence.since = Math.max(started, silence.since)
        silence.confirmed ||= silence.first !== id
      }
    }
  }

  /**
   * A stream probe queued at `queuedAt` that waited for the silent peer's
   * other probes fails without a stream of its own when one of them, started
   * since, timed out and nothing came in on its connection since
   */
  private silentVerdict (peer: string, record: ConnectionRecord, queuedAt: number, bytesIn: number): ProbeOutcome | undefined {
    const silence = this.silent.get(peer)

    if (silence?.confirmed === true && silence.since >= queuedAt && record.bytes.totalIn === bytesIn) {
      return { result: 'failed', error: 'TimeoutError' }
    }

    return undefined
  }

  /** Registers a stream probe of `peer` in flight (never rejects); returns its removal */
  private trackStream (peer: string, probing: Promise<unknown>): () => void {
    let set = this.streaming.get(peer)

    if (set == null) {
      set = new Set()
      this.streaming.set(peer, set)
    }

    set.add(probing)

    return () => {
      set.delete(probing)

      if (set.size === 0 && this.streaming.get(peer) === set) {
        this.streaming.delete(peer)
      }
    }
  }

  /** Resolves when the stream probes of `peer` in flight now have ended */
  private async streamsSettled (peer: string): Promise<void> {
    const set = this.streaming.get(peer)

    if (set != null && set.size > 0) {
      await Promise.allSettled([...set])
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
    const muxer = kind === 'muxer'
    const queuedAt = Date.now()
    const bytesIn = record.bytes.totalIn

    const done = this.queue.run(muxer ? `c/${id}` : `p/${peer}`, async () => {
      if (!this.running || record.connection.status !== 'open' || !this.target.tracks(record)) {
        return
      }

      if (!muxer && this.silent.has(peer)) {
        // a stream probe of the peer still in flight may yet be answered: its
        // outcome decides whether this connection is judged with the peer
        await this.streamsSettled(peer)

        if (!this.running || record.connection.status !== 'open' || !this.target.tracks(record)) {
          return
        }
      }

      const started = Date.now()
      const verdict = muxer ? undefined : this.silentVerdict(peer, record, queuedAt, bytesIn)

      if (verdict != null) {
        this.target.log('%p is silent and %s received nothing while its probe waited: failed with the peer\'s', record.peer, id)
        this.target.probed(record, verdict)
        return
      }

      const controller = muxer ? this.shared : new AbortController()

      if (!muxer) {
        this.inflight.add(controller)
      }

      const probing = runProbe(record, kind, options, controller)
      const untrack = muxer ? undefined : this.trackStream(peer, probing)

      try {
        const outcome = await probing

        if (this.running && this.target.tracks(record)) {
          this.notePeer(peer, id, kind, outcome, started)
          this.target.probed(record, outcome)
        }
      } finally {
        untrack?.()

        if (!muxer) {
          this.inflight.delete(controller)
        }
      }
    }, !muxer).finally(() => {
      this.pending.delete(id)

      if (this.due.delete(id) && this.running && this.target.tracks(record) && record.connection.status === 'open') {
        void this.probe(record)
      }
    })

    this.pending.set(id, done)
    return done
  }
}

/** A peer whose stream probes time out (see `Sweep.notePeer`) */
interface Silence {
  /** When the last of its timed-out stream probes started */
  since: number
  /** The connection of its first timed-out probe */
  first: string
  /** Probes on two connections timed out: the peer, not one connection, is silent */
  confirmed: boolean
}

/**
 * The first connection of every peer, then the second of every peer, ...:
 * with one stream probe per peer at a time, a sweep in this order keeps
 * `maxConcurrentProbes` busy instead of queueing behind one peer. Also
 * counts each peer's open connections.
 */
function interleavePeers (connections: Connection[]): { order: Connection[], perPeer: Map<string, number> } {
  const open = connections.filter(conn => conn.status === 'open')
  const byPeer = new Map<string, Connection[]>()
  const perPeer = new Map<string, number>()

  for (const conn of open) {
    const key = conn.remotePeer.toString()
    const list = byPeer.get(key)

    if (list == null) {
      byPeer.set(key, [conn])
    } else {
      list.push(conn)
    }
  }

  for (const [peer, list] of byPeer) {
    perPeer.set(peer, list.length)
  }

  if (byPeer.size === open.length) {
    return { order: open, perPeer }
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

  return { order: out, perPeer }
}
