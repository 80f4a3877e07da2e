/**
 * The demo's traffic besides the echo workload: small messages and requests
 * through `@x/message-batching` between every pair of connected nodes, and a
 * bulk transfer on the fault link (the bandwidth manager's capped `bulk`
 * class, beside the `interactive` echo and batch streams).
 *
 * Bounds: one bulk stream at a time; at most `MAX_PENDING` batching sends
 * and requests in flight per node (further ticks are skipped and counted).
 */
import { BULK_PROTOCOL } from './node.ts'
import type { DemoLibp2p } from './node.ts'
import type { PeerId, Stream } from '@libp2p/interface'

export const NOTE = 'demo/note'
export const ASK = 'demo/ask'
const MAX_PENDING = 64
/** Messages to each peer per round: sent at once, so the batcher has something to batch */
const BURST = 5
const CHUNK = new Uint8Array(16 * 1024).fill(0x78)
const RESTART_DELAY = 1_000

export interface TrafficInit {
  /** ms between each node's rounds of messages (a burst to every connected node, a request to one) */
  interval: number
  /** The fault link: `client` streams bulk bytes to `server` */
  bulk?: { client: number, server: number }
  /** Called for every batched message or request that failed (not while stopping) */
  onFailure?(failure: TrafficFailure): void
}

export interface TrafficFailure {
  kind: 'message' | 'request'
  /** The sending node */
  node: number
  peer: string
  startedAt: number
  at: number
  error: string
}

export interface TrafficStats {
  messages: { ok: number, failed: number }
  requests: { ok: number, failed: number }
  /** Rounds skipped because `MAX_PENDING` were in flight */
  skipped: number
  /** Bytes the bulk transfer handed to its stream */
  bulkBytesSent: number
  bulkRestarts: number
}

export class Traffic {
  readonly stats: TrafficStats[]
  private readonly nodes: DemoLibp2p[]
  private readonly init: TrafficInit
  private readonly index: (peer: string) => number
  private readonly pending: number[]
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private bulkStream?: Stream
  private running = false

  constructor (nodes: DemoLibp2p[], indexOf: (peer: string) => number, init: TrafficInit) {
    this.nodes = nodes
    this.index = indexOf
    this.init = init
    this.stats = nodes.map(() => ({ messages: { ok: 0, failed: 0 }, requests: { ok: 0, failed: 0 }, skipped: 0, bulkBytesSent: 0, bulkRestarts: 0 }))
    this.pending = nodes.map(() => 0)
  }

  async start (): Promise<void> {
    this.running = true

    for (const node of this.nodes) {
      node.services.batching.handle(NOTE, () => {})
      node.services.batching.handle(ASK, (data) => data)
      // the bulk sink: reads and drops
      await node.handle(BULK_PROTOCOL, (stream) => {
        stream.addEventListener('remoteCloseWrite', () => { void stream.close().catch(() => {}) })
      })
    }

    this.nodes.forEach((_, i) => {
      this.timers.push(setInterval(() => { this.round(i) }, this.init.interval))
    })

    if (this.init.bulk != null) {
      this.timers.push(setTimeout(() => { void this.bulk() }, RESTART_DELAY))
    }
  }

  async stop (): Promise<void> {
    this.running = false
    this.timers.forEach(t => { clearInterval(t); clearTimeout(t) })
    this.timers.length = 0
    this.bulkStream?.abort(new Error('demo stopping'))
  }

  totals (): { messages: number, requests: number, failed: number, bulkBytesSent: number } {
    return this.stats.reduce((acc, s) => ({
      messages: acc.messages + s.messages.ok,
      requests: acc.requests + s.requests.ok,
      failed: acc.failed + s.messages.failed + s.requests.failed,
      bulkBytesSent: acc.bulkBytesSent + s.bulkBytesSent
    }), { messages: 0, requests: 0, failed: 0, bulkBytesSent: 0 })
  }

  /** A message to every connected node of the swarm, and a request to one of them */
  private round (from: number): void {
    const peers = [...new Map(this.nodes[from].getConnections().map(c => [c.remotePeer.toString(), c.remotePeer])).values()]
      .filter(p => this.index(p.toString()) >= 0)

    if (peers.length === 0) {
      return
    }

    if (this.pending[from] + peers.length * BURST + 1 > MAX_PENDING) {
      this.stats[from].skipped++
      return
    }

    const stats = this.stats[from]
    const note = new TextEncoder().encode(`n${from} ${Date.now()}`)

    for (const peer of peers) {
      for (let k = 0; k < BURST; k++) {
        this.track(from, peer, 'message', this.nodes[from].services.batching.send(peer, NOTE, note), stats.messages)
      }
    }

    const peer = peers[Math.floor(Math.random() * peers.length)]
    this.track(from, peer, 'request', this.ask(from, peer), stats.requests)
  }

  private async ask (from: number, peer: PeerId): Promise<void> {
    const question = new TextEncoder().encode(`ask from n${from}`)
    const answer = await this.nodes[from].services.batching.request(peer, ASK, question, { signal: AbortSignal.timeout(5_000) })

    if (answer.byteLength !== question.byteLength) {
      throw new Error(`answer of ${answer.byteLength} bytes to ${question.byteLength}`)
    }
  }

  private track (from: number, peer: PeerId, kind: TrafficFailure['kind'], p: Promise<void>, counter: { ok: number, failed: number }): void {
    const startedAt = Date.now()
    this.pending[from]++
    p.then(() => { counter.ok++ }, (err: any) => {
      if (this.running) {
        counter.failed++
        this.init.onFailure?.({ kind, node: from, peer: peer.toString(), startedAt, at: Date.now(), error: `${err?.name ?? 'Error'}: ${err?.message ?? err}` })
      }
    })
      .finally(() => { this.pending[from]-- })
  }

  /** Streams bulk bytes from the fault link's client to its server, as fast as the bulk class lets it; restarts on failure */
  private async bulk (): Promise<void> {
    const link = this.init.bulk

    if (link == null) {
      return
    }

    while (this.running) {
      const stats = this.stats[link.client]

      try {
        const stream = this.bulkStream = await this.nodes[link.client].services.pool.newStream(this.nodes[link.server].peerId, BULK_PROTOCOL)

        while (this.running && stream.status === 'open') {
          if (!stream.send(CHUNK)) {
            await new Promise<void>((resolve) => {
              const done = (): void => { stream.removeEventListener('drain', done); stream.removeEventListener('close', done); resolve() }
              stream.addEventListener('drain', done)
              stream.addEventListener('close', done)
            })
          }

          stats.bulkBytesSent += CHUNK.byteLength
        }
      } catch {
        // the link's faults end bulk streams too: start another
      }

      if (this.running) {
        stats.bulkRestarts++
        await new Promise(resolve => setTimeout(resolve, RESTART_DELAY))
      }
    }
  }
}
