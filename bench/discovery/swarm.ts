/**
 * Discovery in swarms of N = 10, 25, 50 gossipsub nodes on loopback, ours vs
 * the official @libp2p/pubsub-peer-discovery, with a 2 s interval. Every
 * node dials one bootstrap node at once; discovery does the rest. Reports:
 *
 * - time until every node has every other in its peer store (in intervals)
 * - time until a node joining later has everyone (in intervals)
 * - discovery messages and bytes received per node per interval once the
 *   swarm is steady (gossipsub deliveries on the discovery topic)
 *
 *   node bench/discovery/swarm.ts [N ...]
 */
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

// the official module publishes with `void pubsub.publish(...)`, whose
// rejection (no subscribers yet) is unhandled: count those instead of crashing
let officialUnhandled = 0
process.on('unhandledRejection', (err: any) => {
  if (String(err?.message).includes('NoPeersSubscribedToTopic')) {
    officialUnhandled++
    return
  }
  throw err
})

const INTERVAL = 2_000
const STEADY_INTERVALS = 5
const SIZES = process.argv.slice(2).map(Number).filter(n => n > 1)

type Kind = 'ours' | 'official'

interface Counted { node: Libp2p<any>, messages: number, bytes: number }

async function createNode (kind: Kind): Promise<Counted> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: { maxConnections: 500, inboundConnectionThreshold: 10_000 },
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

async function run (kind: Kind, n: number): Promise<Record<string, string | number>> {
  const swarm: Counted[] = []
  for (let i = 0; i < n; i++) swarm.push(await createNode(kind))
  const nodes = swarm.map(s => s.node)
  const bootstrap = nodes[0]

  // simultaneous start: everyone starts, then dials the bootstrap node
  const started = performance.now()
  await Promise.all(nodes.map(async node => node.start()))
  await Promise.all(nodes.slice(1).map(async node => node.dial(bootstrap.getMultiaddrs()[0])))
  if (process.env.DEBUG_BENCH != null) {
    await new Promise(resolve => setTimeout(resolve, 3000))
    const known = await Promise.all(nodes.map(async node => (await Promise.all(nodes.map(async o => o === node || node.peerStore.has(o.peerId)))).filter(Boolean).length))
    process.stderr.write(`${kind} N=${n}: bootstrap has ${bootstrap.getConnections().length} connections; known per node ${known.join(',')}; msgs ${swarm.map(s => s.messages).join(',')}\n`)
  }
  const everyone = await until(async () => (await Promise.all(nodes.map(async node => knowsAll(node, nodes)))).every(Boolean), 30 * INTERVAL)
  const fullDiscovery = Number.isNaN(everyone) ? NaN : performance.now() - started

  // steady state: let the start-up answers settle, then count
  await new Promise(resolve => setTimeout(resolve, 3 * INTERVAL))
  for (const s of swarm) { s.messages = 0; s.bytes = 0 }
  await new Promise(resolve => setTimeout(resolve, STEADY_INTERVALS * INTERVAL))
  const perNodeMessages = swarm.map(s => s.messages / STEADY_INTERVALS)
  const perNodeBytes = swarm.map(s => s.bytes / STEADY_INTERVALS)

  // a node joining later
  const late = await createNode(kind)
  await late.node.start()
  const joinStarted = performance.now()
  await late.node.dial(bootstrap.getMultiaddrs()[0])
  const lateJoin = await until(async () => knowsAll(late.node, nodes), 20 * INTERVAL)
  const lateJoinMs = Number.isNaN(lateJoin) ? NaN : performance.now() - joinStarted

  await Promise.all([...nodes, late.node].map(async node => node.stop()))

  return {
    module: kind,
    N: n,
    'full discovery (intervals)': fullDiscovery / INTERVAL,
    'late joiner (intervals)': lateJoinMs / INTERVAL,
    'msgs/node/interval (median)': median(perNodeMessages),
    'bytes/node/interval (median)': median(perNodeBytes)
  }
}

const rows: Array<Record<string, string | number>> = []
for (const n of SIZES.length > 0 ? SIZES : [10, 25, 50]) {
  rows.push(await run('official', n))
  rows.push(await run('ours', n))
}

printTable(`Discovery on loopback, interval ${INTERVAL / 1000} s, everyone dials one bootstrap node`, rows)

const largest = Math.max(...rows.map(r => Number(r.N)))
const official = rows.find(r => r.module === 'official' && r.N === largest)!
const ours = rows.find(r => r.module === 'ours' && r.N === largest)!
const reduction = Number(official['msgs/node/interval (median)']) / Number(ours['msgs/node/interval (median)'])
process.stdout.write(`\nat N=${largest}: full discovery ${fmt(Number(ours['full discovery (intervals)']))} intervals (target <= 2), late joiner ${fmt(Number(ours['late joiner (intervals)']))} (target <= 2), ${fmt(reduction)}x fewer steady messages per node than official (target >= 5)\n`)
process.stdout.write(`unhandled publish rejections from the official module: ${officialUnhandled}\n`)
writeResults('discovery-swarm', { interval: INTERVAL, rows, reduction, officialUnhandled })
process.exit(0)
