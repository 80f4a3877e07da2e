/**
 * Discovery in swarms of N = 10, 25, 50 gossipsub nodes on loopback, ours vs
 * the official @libp2p/pubsub-peer-discovery, with a 2 s interval.
 *
 * Topology ("mesh", the one the targets are judged on): what an application
 * using a discovery module does. Every node starts, dials one bootstrap node,
 * and then dials each peer it discovers (`peer:discovery`, the same event for
 * both modules) while it has fewer than D = 6 connections; inbound
 * connections count too, so the bootstrap node dials nobody. Once an
 * interval a node still under D dials a random known, unconnected peer from
 * its peer store (as libp2p's former auto-dialer did), so dials that timed
 * out under load are retried. Gossipsub then builds a real mesh over these
 * connections. Identical for both modules. The node joining later dials the
 * last node started (not the bootstrap node), then the same way.
 *
 * All nodes share one process and event loop on a 2-core machine; the
 * steady-state event loop lag is reported, as the official module at N = 50
 * saturates it (which slows everything, dials included).
 *
 * Environment: ONLY=ours skips the official module (quick iterations),
 * DEBUG_BENCH=1 prints who knows whom after 3 s and 5 intervals.
 *
 * With `--star` a worst-case row per size is added: everyone dials the
 * bootstrap node and nothing else, so every message goes through one node
 * whose mesh (6-12 peers) and gossip reach only part of the others.
 *
 * Reports:
 *
 * - time until every node has every other in its peer store (in intervals)
 * - time until a node joining later has everyone (in intervals)
 * - discovery messages and bytes received per node per interval once the
 *   swarm is steady (gossipsub deliveries on the discovery topic)
 *
 *   node bench/discovery/swarm.ts [--star] [N ...]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { pubsubPeerDiscovery as officialDiscovery } from '@libp2p/pubsub-peer-discovery'
import { tcp } from '@libp2p/tcp'
import { TOPIC, pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// the official module publishes with `void pubsub.publish(...)`, whose
// rejection (no subscribers yet) is unhandled: count those instead of crashing
let officialUnhandled = 0
let otherUnhandled = 0
process.on('unhandledRejection', (err: any) => {
  if (String(err?.message).includes('NoPeersSubscribedToTopic')) {
    officialUnhandled++
    return
  }
  // dials that time out under load on 2 shared cores surface here from
  // libp2p internals; count them rather than abort the run
  if (otherUnhandled++ === 0) process.stderr.write(`unhandled rejection (first of its kind): ${err?.stack ?? err}\n`)
})

const INTERVAL = 2_000
const STEADY_INTERVALS = 5
const SIZES = process.argv.slice(2).map(Number).filter(n => n > 1)
const STAR = process.argv.includes('--star')

/**
 * Connections a node dials discovered peers up to: gossipsub's mesh degree
 * D is 6, so 6 connections let every node fill its mesh, as an application
 * keeping a small number of peers would
 */
const TARGET_CONNECTIONS = 6

type Kind = 'ours' | 'official'
type Topology = 'mesh' | 'star'

interface Counted { node: Libp2p<any>, messages: number, bytes: number }

async function createNode (kind: Kind): Promise<Counted> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: { maxConnections: 500, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 100, dialTimeout: 30_000, inboundUpgradeTimeout: 30_000 },
    peerDiscovery: kind === 'official' ? [officialDiscovery({ interval: INTERVAL })] : [pubsubPeerDiscovery({ interval: INTERVAL })],
    // every node is on 127.0.0.1: without this, gossipsub's IP colocation
    // penalty (more than 10 peers from one IP) graylists the swarm
    services: { identify: identify(), pubsub: gossipsub({ emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } }) }
  } as any)
  const counted: Counted = { node, messages: 0, bytes: 0 }
  node.services.pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
    if (evt.detail.topic === TOPIC) {
      counted.messages++
      counted.bytes += evt.detail.data.byteLength
    }
  })
  return counted
}

async function knowsAll (node: Libp2p<any>, others: Libp2p<any>[]): Promise<boolean> {
  for (const other of others) {
    if (other !== node && !(await node.peerStore.has(other.peerId))) {
      return false
    }
  }
  return true
}

async function until (condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now()
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) return NaN
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return performance.now() - started
}

const timers: Array<ReturnType<typeof setInterval>> = []

/**
 * In the mesh topology: dial discovered peers while under
 * TARGET_CONNECTIONS, and (like libp2p's former auto-dialer) once an
 * interval dial a random known, unconnected peer while still under it, so a
 * dial that failed under load is retried
 */
function dialDiscovered (node: Libp2p<any>, topology: Topology): void {
  if (topology !== 'mesh') return
  const dialing = new Set<string>()
  const dial = (id: any): void => {
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

/** The bootstrap dial, retried: 50 noise handshakes at once on 2 busy cores can time out */
async function dialBootstrap (node: Libp2p<any>, bootstrap: Multiaddr): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await node.dial(bootstrap)
      return
    } catch (err) {
      process.stderr.write(`bootstrap dial attempt ${attempt} failed: ${(err as Error).message} (${node.getConnections().length} connections)\n`)
      if (attempt === 5) throw err
    }
  }
}

async function run (kind: Kind, n: number, topology: Topology): Promise<Record<string, string | number>> {
  const swarm: Counted[] = []
  for (let i = 0; i < n; i++) swarm.push(await createNode(kind))
  const nodes = swarm.map(s => s.node)
  const bootstrap = nodes[0]
  for (const node of nodes.slice(1)) dialDiscovered(node, topology)

  // simultaneous start: everyone starts, then dials the bootstrap node
  const started = performance.now()
  await Promise.all(nodes.map(async node => node.start()))
  // its listen address, taken now: later the address manager may list
  // observed addresses first
  const bootstrapAddr = bootstrap.getMultiaddrs()[0]
  const entryAddr = nodes[n - 1].getMultiaddrs()[0]
  await Promise.all(nodes.slice(1).map(async node => dialBootstrap(node, bootstrapAddr)))
  if (process.env.DEBUG_BENCH != null) {
    setTimeout(() => {
      void Promise.all(nodes.map(async (o, j) => (await Promise.all(nodes.map(async node => node === o || node.peerStore.has(o.peerId)))).filter(x => !x).length + `(${j}:${o.getConnections().length})`)).then(missing => {
        process.stderr.write(`after 5 intervals, nodes not knowing each peer (index:connections): ${missing.join(' ')}\n`)
      })
    }, 5 * INTERVAL)
    await new Promise(resolve => setTimeout(resolve, 3000))
    const known = await Promise.all(nodes.map(async node => (await Promise.all(nodes.map(async o => o === node || node.peerStore.has(o.peerId)))).filter(Boolean).length))
    process.stderr.write(`${kind} N=${n}: bootstrap has ${bootstrap.getConnections().length} connections; known per node ${known.join(',')}; msgs ${swarm.map(s => s.messages).join(',')}\n`)
  }
  const everyone = await until(async () => (await Promise.all(nodes.map(async node => knowsAll(node, nodes)))).every(Boolean), 30 * INTERVAL)
  const fullDiscovery = Number.isNaN(everyone) ? NaN : performance.now() - started

  process.stderr.write(`${kind} N=${n} ${topology}: full discovery ${fmt(fullDiscovery / INTERVAL)} intervals; bootstrap has ${bootstrap.getConnections().length} connections\n`)
  // steady state: let the start-up answers settle, then count
  await new Promise(resolve => setTimeout(resolve, 3 * INTERVAL))
  for (const s of swarm) { s.messages = 0; s.bytes = 0 }
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  await new Promise(resolve => setTimeout(resolve, STEADY_INTERVALS * INTERVAL))
  lag.disable()
  const perNodeMessages = swarm.map(s => s.messages / STEADY_INTERVALS)
  const perNodeBytes = swarm.map(s => s.bytes / STEADY_INTERVALS)

  // a node joining later
  const late = await createNode(kind)
  dialDiscovered(late.node, topology)
  await late.node.start()
  const joinStarted = performance.now()
  let lateJoin = NaN
  try {
    await dialBootstrap(late.node, process.env.LATE_ENTRY === 'bootstrap' ? bootstrapAddr : entryAddr)
    lateJoin = await until(async () => knowsAll(late.node, nodes), 20 * INTERVAL)
  } catch (err) {
    process.stderr.write(`${kind} N=${n} ${topology}: the late joiner could not connect: ${(err as Error).message}\n`)
  }
  const lateJoinMs = Number.isNaN(lateJoin) ? NaN : performance.now() - joinStarted

  for (const timer of timers.splice(0)) clearInterval(timer)
  await Promise.all([...nodes, late.node].map(async node => node.stop()))

  return {
    module: kind,
    topology,
    N: n,
    'full discovery (intervals)': fullDiscovery / INTERVAL,
    'late joiner (intervals)': lateJoinMs / INTERVAL,
    'msgs/node/interval (median)': median(perNodeMessages),
    'bytes/node/interval (median)': median(perNodeBytes),
    // all nodes share one event loop: a high lag means the run is CPU-bound
    'steady event loop p99 lag (ms)': lag.percentile(99) / 1e6
  }
}

const rows: Array<Record<string, string | number>> = []
for (const n of SIZES.length > 0 ? SIZES : [10, 25, 50]) {
  for (const topology of STAR ? ['mesh', 'star'] as const : ['mesh'] as const) {
    // ONLY=ours skips the official module (for quick iterations; no ratio then)
    const official = process.env.ONLY === 'ours' ? {} : await run('official', n, topology)
    const ours = await run('ours', n, topology)
    const ratio = Number(official['msgs/node/interval (median)']) / Number(ours['msgs/node/interval (median)'])
    rows.push({ ...official, 'msg ratio official/ours': '-' }, { ...ours, 'msg ratio official/ours': ratio })
  }
}

printTable(`Discovery on loopback, interval ${INTERVAL / 1000} s, mesh: bootstrap + dial discovered peers up to ${TARGET_CONNECTIONS} connections${STAR ? '; star (worst case): bootstrap only' : ''}`, rows)

const largest = Math.max(...rows.filter(r => r.N != null).map(r => Number(r.N)))
const official = rows.find(r => r.module === 'official' && r.N === largest && r.topology === 'mesh') ?? {}
const ours = rows.find(r => r.module === 'ours' && r.N === largest && r.topology === 'mesh') ?? {}
const reduction = Number(official['msgs/node/interval (median)']) / Number(ours['msgs/node/interval (median)'])
process.stdout.write(`\nat N=${largest}: full discovery ${fmt(Number(ours['full discovery (intervals)']))} intervals (target <= 2), late joiner ${fmt(Number(ours['late joiner (intervals)']))} (target <= 2), ${fmt(reduction)}x fewer steady messages per node than official (target >= 5)\n`)
process.stdout.write(`unhandled publish rejections from the official module: ${officialUnhandled}, other unhandled rejections: ${otherUnhandled}\n`)
writeResults('discovery-swarm', { interval: INTERVAL, targetConnections: TARGET_CONNECTIONS, rows, reduction, officialUnhandled, otherUnhandled })
process.exit(0)
