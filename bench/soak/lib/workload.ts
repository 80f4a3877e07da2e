/**
 * The soak's own traffic on the demo swarm, in the demo's shape but with
 * every request tracked by the connection it ran on (the demo's workload
 * reports only node, peer and error):
 *
 * - echo: each js node asks its next connected peer (js or go; a peer it
 * has only a limited, relayed connection to is left out) once per
 * `interval`, plus every `focusInterval` on the proxied link; each attempt
 * opens a stream with `pool.newStream` inside a ledger attempt (so the
 * connections the pool tried are known) and has `attemptTimeout` ms for
 * the echo; a request is lost when all `attempts` failed;
 * - batching: every `interval` each js node sends `BURST` messages to every
 * connected js node and one request to one of them (`@x/message-batching`);
 * - bulk: the proxied link's client streams bytes to its server (the
 * bandwidth manager's capped bulk class), restarted when a fault ends it.
 *
 * Every send, request and echo in flight is in `pending` (at most
 * `MAX_PENDING` per node; further rounds are skipped and counted), so one
 * that never settles shows up as a stall.
 */
import { echoOnce } from '@x/demo/dist/src/workload.js'
import type { Attempt, Ledger } from './ledger.ts'
import type { PeerId, Stream } from '@libp2p/interface'
import type { DemoLibp2p } from '@x/demo/dist/src/node.js'

export interface Loss {
  kind: 'echo' | 'message' | 'request'
  node: number
  peer: string
  startedAt: number
  at: number
  error: string
  attempts: Attempt[]
}

export interface PendingItem {
  kind: Loss['kind']
  node: number
  peer: string
  startedAt: number
}

export interface SoakWorkloadInit {
  ledger: Ledger
  /** Index of a js node by peer id, -1 for others (go peers) */
  indexOf(peer: string): number
  echoProtocol: string
  bulkProtocol: string
  /** Batching handler names (registered here) */
  note: string
  ask: string
  /** ms between each node's rounds */
  interval: number
  /** Extra echo requests on the proxied link */
  focus?: { from: number, to: number, interval: number }
  /** The proxied link's bulk transfer */
  bulk?: { client: number, server: number }
  attemptTimeout: number
  attempts: number
  /** ms a batched request may take */
  requestTimeout: number
  onLoss(loss: Loss): void
}

/** Items in flight per node; a round that would go over is skipped */
export const MAX_PENDING = 256
const BURST = 5
const RETRY_DELAY = 250
const BULK_RESTART = 1_000
const PAYLOAD = new TextEncoder().encode('x soak echo request 0123456789abcdef')
const CHUNK = new Uint8Array(16 * 1024).fill(0x78)

function describe (err: any): string {
  return `${err?.name ?? 'Error'}: ${err?.message ?? err}`
}

export class SoakWorkload {
  readonly totals = { echo: 0, retried: 0, messages: 0, requests: 0, lost: 0, skipped: 0, bulkBytes: 0, bulkRestarts: 0 }
  private readonly nodes: DemoLibp2p[]
  private readonly init: SoakWorkloadInit
  private readonly pending = new Set<PendingItem>()
  private readonly perNode: number[]
  private readonly cursor: number[]
  private readonly timers: Array<ReturnType<typeof setTimeout>> = []
  private readonly running = new Set<Promise<unknown>>()
  private bulkStream?: Stream
  /** Wakes `stop()` when the last item in flight settles */
  private onIdle?: () => void
  private active = false

  constructor (nodes: DemoLibp2p[], init: SoakWorkloadInit) {
    this.nodes = nodes
    this.init = init
    this.perNode = nodes.map(() => 0)
    this.cursor = nodes.map(() => 0)
  }

  start (): void {
    this.active = true

    for (const node of this.nodes) {
      node.services.batching.handle(this.init.note, () => {})
      node.services.batching.handle(this.init.ask, (data) => data)
    }

    this.nodes.forEach((_, i) => {
      // spread the nodes' rounds over the interval
      this.timers.push(setTimeout(() => {
        this.timers.push(setInterval(() => { this.round(i) }, this.init.interval))
      }, (this.init.interval / this.nodes.length) * i))
    })

    const focus = this.init.focus

    if (focus != null) {
      this.timers.push(setInterval(() => {
        const peer = this.nodes[focus.to].peerId

        if (this.nodes[focus.from].getConnections(peer).length > 0) {
          this.echo(focus.from, peer)
        }
      }, focus.interval))
    }

    if (this.init.bulk != null) {
      this.track(this.bulk())
    }
  }

  /** Stops new traffic, waits up to `settleMs` for what is in flight; returns what never settled */
  async stop (settleMs: number): Promise<PendingItem[]> {
    this.timers.forEach(t => { clearTimeout(t); clearInterval(t) })
    this.timers.length = 0

    if (this.pending.size > 0 && settleMs > 0) {
      // the last item to settle wakes us (end()), or the deadline does
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>(resolve => {
        this.onIdle = resolve
        timer = setTimeout(resolve, settleMs)
      })
      clearTimeout(timer)
      this.onIdle = undefined
    }

    const stalled = this.pendingItems()
    this.active = false
    this.bulkStream?.abort(new Error('soak stopping'))
    return stalled
  }

  /** Items in flight that started before `before` */
  pendingItems (before = Infinity): PendingItem[] {
    return [...this.pending].filter(p => p.startedAt < before)
  }

  private round (from: number): void {
    const node = this.nodes[from]
    // peers with an unlimited connection: the pool opens streams on limited (relayed) ones only when asked to
    const peers = [...new Map(node.getConnections().filter(c => c.limits == null).map(c => [c.remotePeer.toString(), c.remotePeer])).values()]
      .sort((a, b) => a.toString().localeCompare(b.toString()))

    if (peers.length === 0) {
      return
    }

    const js = peers.filter(p => this.init.indexOf(p.toString()) >= 0)

    if (this.perNode[from] + 1 + js.length * BURST + 1 > MAX_PENDING) {
      this.totals.skipped++
      return
    }

    this.echo(from, peers[this.cursor[from]++ % peers.length])

    for (const peer of js) {
      const note = new TextEncoder().encode(`n${from} ${Date.now()}`)

      for (let k = 0; k < BURST; k++) {
        this.batched(from, peer, 'message', async () => { await node.services.batching.send(peer, this.init.note, note) })
      }
    }

    if (js.length > 0) {
      const peer = js[Math.floor(Math.random() * js.length)]
      this.batched(from, peer, 'request', async () => { await this.ask(from, peer) })
    }
  }

  private echo (from: number, peer: PeerId): void {
    const item = this.begin('echo', from, peer)
    const attempts: Attempt[] = []
    const node = this.nodes[from]

    this.track((async () => {
      for (let n = 1; n <= this.init.attempts && this.active; n++) {
        const attempt: Attempt = { startedAt: Date.now(), at: 0, tried: [] }
        attempts.push(attempt)

        try {
          const stream = await this.init.ledger.attempt(attempt, async () => node.services.pool.newStream(peer, this.init.echoProtocol))
          attempt.connection = this.init.ledger.connectionOf(stream)?.key
          await echoOnce(stream, PAYLOAD, this.init.attemptTimeout)
          this.totals.echo++

          if (n > 1) {
            this.totals.retried++
          }

          return
        } catch (err) {
          attempt.at = Date.now()
          attempt.error = describe(err)
          await new Promise(resolve => setTimeout(resolve, RETRY_DELAY * n))
        }
      }

      const last = attempts[attempts.length - 1]

      if (this.active && last != null) {
        this.lose(item, last.error ?? 'Error', attempts)
      }
    })().finally(() => { this.end(item) }))
  }

  private batched (from: number, peer: PeerId, kind: 'message' | 'request', run: () => Promise<void>): void {
    const item = this.begin(kind, from, peer)

    this.track(run().then(() => {
      this.totals[kind === 'message' ? 'messages' : 'requests']++
    }, (err) => {
      if (this.active) {
        const error = describe(err)
        this.lose(item, error, [this.init.ledger.batchAttempt(from, item.peer, item.startedAt, Date.now(), error)])
      }
    }).finally(() => { this.end(item) }))
  }

  private async ask (from: number, peer: PeerId): Promise<void> {
    const question = new TextEncoder().encode(`ask from n${from}`)
    const answer = await this.nodes[from].services.batching.request(peer, this.init.ask, question, { signal: AbortSignal.timeout(this.init.requestTimeout) })

    if (answer.byteLength !== question.byteLength) {
      throw new Error(`answer of ${answer.byteLength} bytes to ${question.byteLength}`)
    }
  }

  private lose (item: PendingItem, error: string, attempts: Attempt[]): void {
    this.totals.lost++
    this.init.onLoss({ kind: item.kind, node: item.node, peer: item.peer, startedAt: item.startedAt, at: Date.now(), error, attempts })
  }

  private begin (kind: PendingItem['kind'], node: number, peer: PeerId): PendingItem {
    const item = { kind, node, peer: peer.toString(), startedAt: Date.now() }
    this.pending.add(item)
    this.perNode[node]++
    return item
  }

  private end (item: PendingItem): void {
    if (this.pending.delete(item)) {
      this.perNode[item.node]--
    }

    if (this.pending.size === 0) {
      this.onIdle?.()
    }
  }

  private track (p: Promise<unknown>): void {
    this.running.add(p)
    void p.finally(() => this.running.delete(p))
  }

  /** Streams bulk bytes over the proxied link as fast as the bulk class lets it; restarts after a failure */
  private async bulk (): Promise<void> {
    const link = this.init.bulk

    if (link == null) {
      return
    }

    while (this.active) {
      try {
        const stream = this.bulkStream = await this.nodes[link.client].services.pool.newStream(this.nodes[link.server].peerId, this.init.bulkProtocol)

        while (this.active && stream.status === 'open') {
          if (!stream.send(CHUNK)) {
            await new Promise<void>((resolve) => {
              const done = (): void => { stream.removeEventListener('drain', done); stream.removeEventListener('close', done); resolve() }
              stream.addEventListener('drain', done)
              stream.addEventListener('close', done)
            })
          }

          this.totals.bulkBytes += CHUNK.byteLength
        }
      } catch {
        // faults on the link end bulk streams too: start another
      }

      if (this.active) {
        this.totals.bulkRestarts++
        await new Promise(resolve => setTimeout(resolve, BULK_RESTART))
      }
    }
  }
}
