/**
 * A small request workload: echo requests between nodes, each through the
 * requesting node's pool. A request opens its stream with `pool.newStream`
 * (no signal of ours, so the pool applies its per-connection timeout and
 * fails over to the next connection), then has `attemptTimeout` ms for the
 * echo. A request fails only when `attempts` attempts in a row failed; a
 * retried request that succeeded counts as ok and as retried.
 *
 * Between attempts a request waits `retryDelay` ms times the attempt number,
 * or, when the node has no direct connection to the peer left (a fault or
 * health took the link down), until one opens, at most `reconnectTimeout` ms:
 * the side that keeps the link (the node that `dial()`led it) re-dials it,
 * and the other side may not be able to dial at all (the fault link's server
 * is gated off dialling its client), or get a stream from its pool while
 * only a relayed connection is open. In-flight requests are bounded by the
 * request rate times the longest request: `attempts` attempts
 * plus the waits between them.
 */
import { ECHO_PROTOCOL } from './node.ts'
import type { DemoLibp2p } from './node.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export interface WorkloadInit {
  /** ms between requests of each node to its next peer */
  interval: number
  /** Extra requests on the faulty link, [from node, to node, ms between] */
  focus?: { from: number, to: number, interval: number }
  /** ms for one attempt's echo, once its stream is open */
  attemptTimeout?: number
  /** Attempts per request */
  attempts?: number
  /** ms before a retry, times the attempt number, while a direct connection to the peer is open */
  retryDelay?: number
  /** ms a retry waits for a direct connection to the peer to open when none is */
  reconnectTimeout?: number
  /** Called for every failed request (all its attempts failed), e.g. to explain it */
  onFailure?(failure: RequestFailure): void
}

export interface RequestFailure {
  /** The requesting node */
  node: number
  peer: string
  /** When the request's first attempt started, ms since epoch */
  startedAt: number
  /** When its last attempt failed */
  at: number
  error: string
}

export interface NodeRequestStats {
  ok: number
  failed: number
  /** Requests that needed more than one attempt (and are counted ok or failed) */
  retried: number
  /** Last failures, newest last (at most 16) */
  failures: Array<{ at: number, startedAt: number, peer: string, error: string }>
  /** Last failed attempts of requests that were retried, newest last (at most 16) */
  retries: Array<{ at: number, peer: string, error: string }>
}

const PAYLOAD = new TextEncoder().encode('x demo echo request 0123456789abcdef')
/** A request waiting before its next attempt; with `peer`, until a direct connection to it opens */
interface Waiter {
  peer?: PeerId
  wake(): void
}

const MAX_FAILURES = 16
const DEFAULT_RETRY_DELAY = 250
const DEFAULT_RECONNECT_TIMEOUT = 30_000

function describe (err: any): string {
  return `${err?.name ?? 'Error'}: ${err?.message ?? err}`
}

function remember <T> (list: T[], item: T): void {
  list.push(item)

  if (list.length > MAX_FAILURES) {
    list.shift()
  }
}

export async function echoOnce (stream: Stream, data: Uint8Array, timeout: number): Promise<void> {
  let received = 0
  const signal = AbortSignal.timeout(timeout)
  const done = new Promise<void>((resolve, reject) => {
    stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
    stream.addEventListener('close', (evt) => {
      if (evt.error != null) {
        reject(evt.error)
      } else if (received !== data.byteLength) {
        reject(new Error(`echo returned ${received} of ${data.byteLength} bytes`))
      } else {
        resolve()
      }
    })
  })
  const onAbort = (): void => { stream.abort(Object.assign(new Error('echo timed out'), { name: 'TimeoutError' })) }
  signal.addEventListener('abort', onAbort)

  try {
    stream.send(data)
    await stream.close({ signal })
    await done
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

export class Workload {
  readonly stats: NodeRequestStats[]
  private readonly nodes: DemoLibp2p[]
  private readonly init: Required<Omit<WorkloadInit, 'focus' | 'onFailure'>> & Pick<WorkloadInit, 'focus' | 'onFailure'>
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private readonly cursor: number[]
  private readonly inFlight = new Set<Promise<void>>()
  /** Requests started so far; each request's number is its rank */
  private count = 0
  /** Numbers of the requests without a verdict yet, in ascending order (bounded like the requests in flight) */
  private readonly unsettled = new Set<number>()
  /** Per node, requests waiting before their next attempt */
  private readonly waiters: Array<Set<Waiter>>
  /** Per node, its `connection:open` listener while running */
  private readonly listeners: Array<(evt: CustomEvent<Connection>) => void>
  private running = false

  constructor (nodes: DemoLibp2p[], init: WorkloadInit) {
    this.nodes = nodes
    this.init = { attemptTimeout: 2_000, attempts: 4, retryDelay: DEFAULT_RETRY_DELAY, reconnectTimeout: DEFAULT_RECONNECT_TIMEOUT, ...init }
    this.stats = nodes.map(() => ({ ok: 0, failed: 0, retried: 0, failures: [], retries: [] }))
    this.cursor = nodes.map(() => 0)
    this.waiters = nodes.map(() => new Set())
    this.listeners = nodes.map((_, i) => (evt: CustomEvent<Connection>) => { this.opened(i, evt.detail) })
  }

  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.nodes.forEach((node, i) => {
      node.addEventListener('connection:open', this.listeners[i])

      // spread the nodes' ticks over the interval
      const start = setTimeout(() => {
        this.timers.push(setInterval(() => { this.tick(i) }, this.init.interval))
      }, (this.init.interval / this.nodes.length) * i)
      this.timers.push(start as any)
    })

    const focus = this.init.focus

    if (focus != null) {
      this.timers.push(setInterval(() => {
        const peer = this.nodes[focus.to].peerId

        // like every request: only once the nodes have found each other
        if (this.nodes[focus.from].getConnections(peer).length > 0) {
          this.track(this.request(focus.from, peer))
        }
      }, focus.interval))
    }
  }

  async stop (): Promise<void> {
    this.running = false
    this.timers.forEach(t => { clearInterval(t); clearTimeout(t) })
    this.nodes.forEach((node, i) => {
      node.removeEventListener('connection:open', this.listeners[i])
      this.waiters[i].forEach(waiter => { waiter.wake() })
    })
    this.timers.length = 0
    await Promise.allSettled([...this.inFlight])
  }

  totals (): { ok: number, failed: number, retried: number } {
    return this.stats.reduce((acc, s) => ({ ok: acc.ok + s.ok, failed: acc.failed + s.failed, retried: acc.retried + s.retried }), { ok: 0, failed: 0, retried: 0 })
  }

  private tick (from: number): void {
    // peers this node is connected to (the pool takes them on at the first
    // request, also when the other side dialled), in a stable order
    const peers = [...new Map(this.nodes[from].getConnections().map(c => [c.remotePeer.toString(), c.remotePeer])).values()]
      .sort((a, b) => a.toString().localeCompare(b.toString()))

    if (peers.length === 0) {
      return
    }

    const peer = peers[this.cursor[from]++ % peers.length]
    this.track(this.request(from, peer))
  }

  private track (p: Promise<void>): void {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  /** How many requests have started: a mark for `settled()` */
  started (): number {
    return this.count
  }

  /**
   * Whether every request started before `mark` (a `started()` value) has
   * its verdict (ok, failed, or ended by `stop()`): a request waiting up to
   * `reconnectTimeout` for its peer is neither ok nor failed yet, so a count
   * of failures taken before its requests settled can miss a loss.
   */
  settled (mark: number): boolean {
    const oldest = this.unsettled.values().next()
    return oldest.done === true || oldest.value >= mark
  }

  async request (from: number, peer: PeerId): Promise<void> {
    const id = this.count++
    this.unsettled.add(id)

    try {
      await this.attempt(from, peer)
    } finally {
      this.unsettled.delete(id)
    }
  }

  private async attempt (from: number, peer: PeerId): Promise<void> {
    const node = this.nodes[from]
    const stats = this.stats[from]
    const startedAt = Date.now()
    let lastError: any

    for (let attempt = 1; attempt <= this.init.attempts && this.running; attempt++) {
      try {
        const stream = await node.services.pool.newStream(peer, ECHO_PROTOCOL)
        await echoOnce(stream, PAYLOAD, this.init.attemptTimeout)
        stats.ok++

        if (attempt > 1) {
          stats.retried++
        }

        return
      } catch (err: any) {
        lastError = err
        remember(stats.retries, { at: Date.now(), peer: peer.toString(), error: describe(err) })

        if (attempt < this.init.attempts) {
          await this.beforeRetry(from, peer, attempt)
        }
      }
    }

    if (!this.running) {
      // stopping: not a failure of the network
      return
    }

    stats.failed++
    const failure = { at: Date.now(), startedAt, peer: peer.toString(), error: describe(lastError) }
    remember(stats.failures, failure)
    this.init.onFailure?.({ node: from, ...failure })
  }

  /** Requests of node `i` waiting before their next attempt */
  waiting (i: number): number {
    return this.waiters[i].size
  }

  /**
   * Waits before the next attempt: a moment for health and the pool to learn
   * what happened while a direct connection to the peer is open; otherwise
   * until one opens, at most `reconnectTimeout` ms (then the next attempt
   * dials, if this node may). `stop()` ends every wait.
   */
  private async beforeRetry (from: number, peer: PeerId, attempt: number): Promise<void> {
    if (!this.running) {
      // stop() already woke the waiters: a wait begun now would hold stop() up to reconnectTimeout
      return
    }

    const direct = this.nodes[from].getConnections(peer).some(c => c.status === 'open' && c.limits == null)

    await new Promise<void>(resolve => {
      const waiter: Waiter = {
        peer: direct ? undefined : peer,
        wake: () => {
          clearTimeout(timer)
          this.waiters[from].delete(waiter)
          resolve()
        }
      }
      const timer = setTimeout(waiter.wake, direct ? this.init.retryDelay * attempt : this.init.reconnectTimeout)
      this.waiters[from].add(waiter)
    })
  }

  /** A direct connection opened on node `i`: the requests waiting for its peer try again */
  private opened (i: number, conn: Connection): void {
    if (conn.limits != null) {
      return
    }

    for (const waiter of [...this.waiters[i]]) {
      if (waiter.peer?.equals(conn.remotePeer) === true) {
        waiter.wake()
      }
    }
  }
}
