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
    services: { identify: identify(), pubsub: gossipsub({ emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } }) }
  } as any)
  const entry: Entry = { index, node, messages: 0, bytes: 0, known: new Set(), watched: [], learnedAt: new Map() }
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
        if (!entry.known.has(id) && await entry.node.peerStore.has(peerIdFromString(id))) entry.known.add(id)
      }
    }))
    return list.map(missingCount)
  },
  /** per given node, how many watched peer ids it does not know yet */
  missing: ({ indices }: { indices?: number[] } = {}) => selected(indices).map(missingCount),
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
