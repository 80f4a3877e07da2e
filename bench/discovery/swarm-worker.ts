/**
 * One worker process of `swarm.ts` (not a benchmark by itself): holds its
 * share of the swarm's gossipsub nodes on its own event loop and answers the
 * coordinator's commands over the IPC channel (see ../lib/worker-rpc.ts).
 * Nodes are named by their index in the whole swarm; index 0 is the
 * bootstrap node.
 *
 * Knowledge checks are cheap: every node records the peer ids of its
 * `peer:update` events (every peer store write emits one), so "how many of
 * the watched peers does each node still miss" is a set lookup per peer, not
 * a peer store query; `verify` re-checks with the peer store at the end.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { pubsubPeerDiscovery as officialDiscovery } from '@libp2p/pubsub-peer-discovery'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC, pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import { serveWorker } from '../lib/worker-rpc.ts'
import type { NodeLearning } from './discovery-time.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

type Kind = 'ours' | 'official'
type Topology = 'mesh' | 'star'

/** The discovery interval and TARGET_CONNECTIONS, given by swarm.ts (which explains them) */
const INTERVAL = Number(process.argv[2] ?? 2_000)
const TARGET_CONNECTIONS = Number(process.argv[3] ?? 6)

interface Entry {
  index: number
  node: Libp2p<any>
  messages: number
  bytes: number
  /** peer ids this node's peer store has written (from `peer:update`) */
  known: Set<string>
  /** peer ids the coordinator asked about (never this node's own) */
  watched: string[]
  /** when (performance.now()) each peer id was first written to the peer store */
  learnedAt: Map<string, number>
  /** when (performance.now()) this node's bootstrap dial returned a connection */
  bootstrapDialledAt?: number
  /** TRACE_BENCH: per peer id, when this node first saw each step of its way to knowing that peer */
  trace: Map<string, PeerTrace>
  /** TRACE_BENCH: this node's publishes on the topic: when, to how many of how many subscribers */
  publishes: Array<{ at: number, recipients: number, subscribers: number, bytes: number }>
  /** TRACE_BENCH: gossipsub's outbound stream openings: when they started, how long they took (`newStream`: of which in `connection.newStream`), whether they failed */
  outbound: Array<{ peer: string, at: number, ms: number, newStream: number, ok: boolean }>
  /** TRACE_BENCH: peer store writes that took over 200 ms: when, how long, of which peer, whether they set protocols */
  slowWrites: Array<{ peer: string, at: number, ms: number, protocols: boolean }>
}

/**
 * TRACE_BENCH: when (performance.now()) a node first saw, for one peer: a
 * connection, its subscription to the topic (gossipsub), a gossipsub
 * outbound stream to it (without one our publishes cannot reach it), it in
 * the topic mesh, a message it authored, its record in a message another
 * peer authored (and who), and the peer store write
 */
interface PeerTrace {
  connected?: number
  subscribed?: number
  outbound?: number
  mesh?: number
  heard?: number
  relayed?: number
  relayer?: string
}

const TRACE = process.env.TRACE_BENCH != null

/** TRACE_BENCH: per second since the worker started, the longest delay of a 100 ms timer (ms) */
const lagPerSecond: number[] = []
const lagOrigin = performance.now()
if (TRACE) {
  const origin = lagOrigin
  let expected = origin + 100
  const lagTimer = setInterval(() => {
    const now = performance.now()
    const second = Math.floor((now - origin) / 1000)
    lagPerSecond[second] = Math.max(lagPerSecond[second] ?? 0, now - expected)
    expected = now + 100
  }, 100)
  lagTimer.unref()
}

function traceOf (entry: Entry, peer: string): PeerTrace {
  let trace = entry.trace.get(peer)
  if (trace == null) {
    trace = {}
    entry.trace.set(peer, trace)
  }
  return trace
}

/**
 * Whether `needle` occurs in `haystack` (Buffer's native search: a byte-by-byte
 * loop over every 10 KB message for each of 50 peer ids blocked the traced
 * workers for seconds, which slowed the very run being traced)
 */
function contains (haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) !== -1
}

/** TRACE_BENCH: records what each node sees of its peers (see PeerTrace) */
function traceNode (entry: Entry, ids: () => string[]): void {
  const node = entry.node
  const pubsub = node.services.pubsub
  node.addEventListener('connection:open', (evt: CustomEvent<any>) => {
    traceOf(entry, evt.detail.remotePeer.toString()).connected ??= performance.now()
  })
  pubsub.addEventListener('subscription-change', (evt: CustomEvent<any>) => {
    if (evt.detail.subscriptions.some((s: any) => s.topic === TOPIC && s.subscribe)) traceOf(entry, evt.detail.peerId.toString()).subscribed ??= performance.now()
  })
  const multihashes = new Map<string, Uint8Array>()
  pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
    if (evt.detail.topic !== TOPIC || evt.detail.from == null) return
    const now = performance.now()
    const author = evt.detail.from.toString()
    traceOf(entry, author).heard ??= now
    for (const id of ids()) {
      if (id === author || entry.trace.get(id)?.relayed != null) continue
      let bytes = multihashes.get(id)
      if (bytes == null) {
        bytes = peerIdFromString(id).toMultihash().bytes
        multihashes.set(id, bytes)
      }
      if (contains(evt.detail.data, bytes)) {
        const trace = traceOf(entry, id)
        trace.relayed = now
        trace.relayer = author
      }
    }
  })
  const publish = pubsub.publish.bind(pubsub)
  pubsub.publish = async (topic: string, data: Uint8Array, opts?: any) => {
    const result = await publish(topic, data, opts)
    if (topic === TOPIC) entry.publishes.push({ at: performance.now(), recipients: result?.recipients?.length ?? 0, subscribers: pubsub.getSubscribers(topic).length, bytes: data.byteLength })
    return result
  }
  const createOutboundStream = pubsub.createOutboundStream.bind(pubsub)
  pubsub.createOutboundStream = async (peerId: PeerId, connection: any) => {
    const at = performance.now()
    const had = pubsub.streamsOutbound.has(peerId.toString())
    let newStream = 0
    const original = connection.newStream
    connection.newStream = async (...args: any[]) => {
      const started = performance.now()
      try {
        return await original(...args)
      } finally {
        newStream = performance.now() - started
        connection.newStream = original
      }
    }
    await createOutboundStream(peerId, connection)
    connection.newStream = original
    if (!had) entry.outbound.push({ peer: peerId.toString(), at, ms: performance.now() - at, newStream, ok: pubsub.streamsOutbound.has(peerId.toString()) })
  }
  const merge = node.peerStore.merge.bind(node.peerStore)
  node.peerStore.merge = async (peerId: PeerId, data: any, options?: any) => {
    const at = performance.now()
    try {
      return await merge(peerId, data, options)
    } finally {
      const ms = performance.now() - at
      if (ms > 200) entry.slowWrites.push({ peer: peerId.toString(), at, ms, protocols: data?.protocols != null })
    }
  }
  // outbound streams and the mesh have no events: sampled
  const sampler = setInterval(() => {
    const now = performance.now()
    for (const id of pubsub.streamsOutbound.keys()) traceOf(entry, id).outbound ??= now
    for (const id of pubsub.getMeshPeers(TOPIC)) traceOf(entry, id).mesh ??= now
  }, 100)
  timers.push(sampler)
}

// the official module publishes with `void pubsub.publish(...)`, whose
// rejection (no subscribers yet) is unhandled: count those instead of crashing
let officialUnhandled = 0
let otherUnhandled = 0
process.on('unhandledRejection', (err: any) => {
  if (String(err?.message).includes('NoPeersSubscribedToTopic')) {
    officialUnhandled++
    return
  }
  // dials that time out under load surface here from libp2p internals;
  // count them rather than abort the run
  if (otherUnhandled++ === 0) process.stderr.write(`[worker ${process.pid}] unhandled rejection (first of its kind): ${err?.stack ?? err}\n`)
})

const entries = new Map<number, Entry>()
const timers: Array<ReturnType<typeof setInterval>> = []
let lag: ReturnType<typeof monitorEventLoopDelay> | undefined

async function createNode (kind: Kind, index: number): Promise<Entry> {
  const node: Libp2p<any> = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: { maxConnections: 500, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 100, dialTimeout: 30_000, addressDialTimeout: 30_000, inboundUpgradeTimeout: 30_000 },
    peerDiscovery: kind === 'official' ? [officialDiscovery({ interval: INTERVAL })] : [pubsubPeerDiscovery({ interval: INTERVAL })],
    // every node is on 127.0.0.1: without this, gossipsub's IP colocation
    // penalty (more than 10 peers from one IP) graylists the swarm
    services: { identify: identify(), pubsub: gossipsub({ emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 }, ...(process.env.FAST_MSG_ID != null ? { fastMsgIdFn: (msg: any) => Buffer.from(msg.from ?? []).toString('base64') + Buffer.from(msg.seqno ?? []).toString('base64') } : {}) }) }
  } as any)
  const entry: Entry = { index, node, messages: 0, bytes: 0, known: new Set(), watched: [], learnedAt: new Map(), trace: new Map(), publishes: [], outbound: [], slowWrites: [] }
  if (TRACE) traceNode(entry, () => entry.watched)
  node.services.pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
    if (evt.detail.topic === TOPIC) {
      entry.messages++
      entry.bytes += evt.detail.data.byteLength
    }
  })
  node.addEventListener('peer:update', (evt: CustomEvent<any>) => {
    const id = evt.detail.peer.id.toString()
    if (!entry.known.has(id)) entry.learnedAt.set(id, performance.now())
    entry.known.add(id)
  })
  if (process.env.DEBUG_BENCH != null && index === 0) {
    // the bootstrap node's publishes: when, how big, to how many subscribers
    const publish = node.services.pubsub.publish.bind(node.services.pubsub)
    const t0 = performance.now()
    node.services.pubsub.publish = async (topic: string, data: Uint8Array, opts?: any) => {
      const result = await publish(topic, data, opts)
      process.stderr.write(`bootstrap publish at ${Math.round(performance.now() - t0)} ms: ${data.byteLength} bytes, sent to ${result?.recipients?.length} of ${node.services.pubsub.getSubscribers(topic).length} subscribers\n`)
      return result
    }
  }
  entries.set(index, entry)
  return entry
}

/**
 * In the mesh topology: dial discovered peers while under
 * TARGET_CONNECTIONS, and (like libp2p's former auto-dialer) once an
 * interval dial a random known, unconnected peer while still under it, so a
 * dial that failed under load is retried
 */
function dialDiscovered (node: Libp2p<any>, topology: Topology): void {
  if (topology !== 'mesh') return
  const dialing = new Set<string>()
  const dial = (id: PeerId): void => {
    const key = id.toString()
    if (node.status !== 'started' || dialing.has(key) || id.equals(node.peerId) || node.getConnections(id).length > 0) return
    if (node.getConnections().length + dialing.size >= TARGET_CONNECTIONS) return
    dialing.add(key)
    node.dial(id).catch(() => {}).finally(() => dialing.delete(key))
  }
  node.addEventListener('peer:discovery', (evt: CustomEvent<any>) => { dial(evt.detail.id) })
  timers.push(setInterval(() => {
    if (node.status !== 'started' || node.getConnections().length >= TARGET_CONNECTIONS) return
    void node.peerStore.all().then(peers => {
      const candidates = peers.filter(p => node.getConnections(p.id).length === 0 && !p.id.equals(node.peerId))
      if (candidates.length > 0) dial(candidates[Math.floor(Math.random() * candidates.length)].id)
    }, () => {})
  }, INTERVAL))
}

/** The bootstrap dial, retried: many noise handshakes at once on 2 busy cores can time out */
async function dialBootstrap (entry: Entry, addr: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const started = performance.now()
    try {
      await entry.node.dial(multiaddr(addr))
      entry.bootstrapDialledAt = performance.now()
      if (process.env.DEBUG_BENCH != null) process.stderr.write(`node ${entry.index}: bootstrap dial took ${Math.round(performance.now() - started)} ms\n`)
      return true
    } catch (err) {
      process.stderr.write(`node ${entry.index}: bootstrap dial attempt ${attempt} failed: ${(err as Error).message} (${entry.node.getConnections().length} connections)\n`)
      if (attempt === 5) return false
    }
  }
}

function selected (indices?: number[]): Entry[] {
  return indices == null ? [...entries.values()] : indices.map(i => entries.get(i)).filter((e): e is Entry => e != null)
}

function missingCount (entry: Entry): number {
  let missing = 0
  for (const id of entry.watched) if (!entry.known.has(id)) missing++
  return missing
}

const serving = serveWorker({
  /** creates the nodes with these swarm indices; answers their peer ids */
  create: async ({ kind, topology, indices }: { kind: Kind, topology: Topology, indices: number[] }) => {
    const ids: string[] = []
    for (const index of indices) {
      const entry = await createNode(kind, index)
      // the bootstrap node dials nobody
      if (index !== 0) dialDiscovered(entry.node, topology)
      ids.push(entry.node.peerId.toString())
    }
    return ids
  },
  /** starts the given nodes (default all); answers each one's first (listen) address */
  start: async ({ indices }: { indices?: number[] } = {}) => {
    const started = selected(indices)
    await Promise.all(started.map(async e => e.node.start()))
    // taken now: later the address manager may list observed addresses first
    return started.map(e => ({ index: e.index, addr: e.node.getMultiaddrs()[0].toString() }))
  },
  /** every given node except the bootstrap node dials `addr` (with retries); answers the indices that failed */
  dial: async ({ addr, indices }: { addr: string, indices?: number[] }) => {
    const dialers = selected(indices).filter(e => e.index !== 0)
    const ok = await Promise.all(dialers.map(async e => dialBootstrap(e, addr)))
    return dialers.filter((_, i) => !ok[i]).map(e => e.index)
  },
  /** sets the peer ids the given nodes are asked about; answers what `missing` answers */
  watch: async ({ ids, indices }: { ids: string[], indices?: number[] }) => {
    const list = selected(indices)
    await Promise.all(list.map(async entry => {
      const own = entry.node.peerId.toString()
      entry.watched = ids.filter(id => id !== own)
      // peers stored before the listener saw them (none expected)
      for (const id of entry.watched) {
        if (!entry.known.has(id) && await entry.node.peerStore.has(peerIdFromString(id))) {
          entry.known.add(id)
          // when it was stored is unknown: now is a bound that never flatters
          if (!entry.learnedAt.has(id)) entry.learnedAt.set(id, performance.now())
        }
      }
    }))
    return list.map(missingCount)
  },
  /** per given node, how many watched peer ids it does not know yet */
  missing: ({ indices }: { indices?: number[] } = {}) => selected(indices).map(missingCount),
  /**
   * per given node, how many watched peer ids it does not know yet and when
   * (epoch ms, performance.timeOrigin + performance.now(): comparable
   * across the workers) it first learned the last of the others; see
   * discovery-time.ts
   */
  learned: ({ indices }: { indices?: number[] } = {}): NodeLearning[] => selected(indices).map(e => {
    let latest = NaN
    for (const id of e.watched) {
      const at = e.learnedAt.get(id)
      if (at != null && !(at <= latest)) latest = at
    }
    return { index: e.index, missing: missingCount(e), latest: performance.timeOrigin + latest }
  }),
  /** per given node (the bootstrap node excepted), when (epoch ms) its bootstrap dial returned; NaN if it never did */
  bootstrapDialled: ({ indices }: { indices?: number[] } = {}) => selected(indices).filter(e => e.index !== 0).map(e => ({ index: e.index, at: e.bootstrapDialledAt == null ? NaN : performance.timeOrigin + e.bootstrapDialledAt })),
  /** like `missing`, but asks the peer stores */
  verify: async ({ indices }: { indices?: number[] } = {}) => Promise.all(selected(indices).map(async entry => {
    let missing = 0
    for (const id of entry.watched) if (!(await entry.node.peerStore.has(peerIdFromString(id)))) missing++
    return missing
  })),
  /** coverage for DEBUG_BENCH */
  debug: () => selected().map(e => ({
    index: e.index,
    connections: e.node.getConnections().length,
    missing: e.watched.filter(id => !e.known.has(id)),
    messages: e.messages,
    // gossipsub peers and topic subscribers this node sees
    gossipPeers: e.node.services.pubsub.getPeers().length,
    subscribers: e.node.services.pubsub.getSubscribers(TOPIC).length,
    // a node with one connection: what runs on it
    streams: e.node.getConnections().length === 1 ? e.node.getConnections()[0].streams.map(s => `${s.direction[0]}:${s.protocol ?? '?'}`).join(' ') : ''
  })),
  /** DEBUG_BENCH: the `count` latest (node, peer) learnings, with the time since `since` (this process's clock) and whether they are connected */
  latest: ({ count, since }: { count: number, since: number }) => selected().flatMap(e => [...e.learnedAt].filter(([id]) => e.watched.includes(id)).map(([id, at]) => ({ index: e.index, peer: id, ms: Math.round(at - since), connected: e.node.getConnections(peerIdFromString(id)).length > 0 }))).sort((a, b) => b.ms - a.ms).slice(0, count),
  /** TRACE_BENCH: every node's PeerTrace of every peer, its publishes and outbound stream openings, times since `since` (this process's clock) */
  trace: ({ since }: { since: number }) => selected().map(e => ({
    index: e.index,
    peers: Object.fromEntries([...e.trace].map(([id, t]) => [id, Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v - since) : v]))])),
    learned: Object.fromEntries([...e.learnedAt].map(([id, at]) => [id, Math.round(at - since)])),
    publishes: e.publishes.map(p => ({ ...p, at: Math.round(p.at - since) })),
    outbound: e.outbound.map(o => ({ ...o, at: Math.round(o.at - since), ms: Math.round(o.ms), newStream: Math.round(o.newStream) })),
    slowWrites: e.slowWrites.map(w => ({ ...w, at: Math.round(w.at - since), ms: Math.round(w.ms) })),
    // this worker's event loop: the longest delay of a 100 ms timer, per second since `since`
    lag: lagPerSecond.map(l => Math.round(l)),
    lagFrom: Math.round(lagOrigin - since)
  })),
  now: () => performance.now(),
  connections: ({ index }: { index: number }) => entries.get(index)?.node.getConnections().length ?? 0,
  /** resets the message counters and starts measuring the event loop lag */
  steadyStart: () => {
    for (const e of entries.values()) { e.messages = 0; e.bytes = 0 }
    lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
  },
  /** per node messages and bytes since `steadyStart`, and this process's p99 event loop lag (ms) */
  steadyEnd: () => {
    lag?.disable()
    const list = selected()
    return { indices: list.map(e => e.index), messages: list.map(e => e.messages), bytes: list.map(e => e.bytes), p99: (lag?.percentile(99) ?? NaN) / 1e6 }
  },
  /** a node joining later: created, dialling discovered peers, started; answers its peer id */
  late: async ({ kind, topology, index }: { kind: Kind, topology: Topology, index: number }) => {
    const entry = await createNode(kind, index)
    dialDiscovered(entry.node, topology)
    await entry.node.start()
    return entry.node.peerId.toString()
  },
  /** stops every node; answers the unhandled rejection counts */
  stop: async () => {
    for (const timer of timers.splice(0)) clearInterval(timer)
    await Promise.race([
      Promise.all([...entries.values()].map(async e => e.node.stop())),
      new Promise(resolve => setTimeout(resolve, 10_000))
    ])
    entries.clear()
    return { officialUnhandled, otherUnhandled }
  }
})

if (!serving) {
  // run directly (e.g. by bench/run.ts): nothing to do
  process.stdout.write('swarm-worker.ts is a worker process of swarm.ts: run `node discovery/swarm.ts`\n')
}
