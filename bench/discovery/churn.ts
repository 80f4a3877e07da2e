/**
 * A churn attack (issue 14, item 4): every half interval a new identity
 * connects to one node of a steady swarm and announces itself (alternately
 * as our module does, with its signed record, and as the official module
 * does, without), then leaves. What it makes the swarm publish, ours and
 * the official module side by side in one run.
 *
 * N gossipsub nodes on loopback in this process (default 12), interval 1 s
 * (the rules are in intervals), each dialling node 0 and the node before
 * it. After warm-up (10 intervals, plus one and a half periods) messages
 * on the discovery topic are counted at every node for `--window`
 * intervals with no attack, then for as many under attack.
 *
 * Reports, per module: discovery messages received per node per interval
 * (median over nodes) in steady state and under attack, the latter split
 * into messages from the swarm and from the attacker's identities.
 *
 *   node bench/discovery/churn.ts [--nodes 12] [--interval 1000] [--window 10]
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { pubsubPeerDiscovery as officialDiscovery } from '@libp2p/pubsub-peer-discovery'
import { tcp } from '@libp2p/tcp'
import { Peer, pubsubPeerDiscovery, TOPIC } from '@x/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Libp2p } from '@libp2p/interface'

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const N = option('nodes', 12)
const INTERVAL = option('interval', 1000)
const WINDOW = option('window', 10)
const WARMUP = 10 + Math.ceil(1.5 * Math.ceil(N / 6))

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function node (module: 'ours' | 'official' | 'attacker'): Promise<Libp2p<any>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    peerDiscovery: module === 'official' ? [officialDiscovery({ interval: INTERVAL })] : [],
    services: {
      identify: identify(),
      // on loopback every peer shares one IP: no colocation penalty
      pubsub: gossipsub({ emitSelf: false, allowPublishToZeroTopicPeers: true, scoreParams: { IPColocationFactorWeight: 0 } }),
      ...(module === 'ours' ? { discovery: pubsubPeerDiscovery({ interval: INTERVAL }) } : {})
    }
  })
}

/** One attacker identity: connects to `target`, announces itself, leaves */
async function attack (target: Libp2p, withRecord: boolean, attackers: Set<string>): Promise<void> {
  const a = await node('attacker')
  attackers.add(a.peerId.toString())

  try {
    a.services.pubsub.subscribe(TOPIC)
    await a.dial(target.getMultiaddrs()[0])
    const addr = a.getMultiaddrs()[0]
    const record = withRecord ? (await RecordEnvelope.seal(new PeerRecord({ peerId: a.peerId, multiaddrs: [addr] }), (a as any).components.privateKey)).marshal() : undefined
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(a.peerId.publicKey!) as Uint8Array<ArrayBuffer>,
      addrs: [addr.bytes as Uint8Array<ArrayBuffer>],
      signedPeerRecord: record as Uint8Array<ArrayBuffer> | undefined,
      peerRecords: []
    })
    // wait for the subscription to reach the target, then publish
    for (let i = 0; i < 20 && a.services.pubsub.getSubscribers(TOPIC).length === 0; i++) {
      await sleep(25)
    }
    await a.services.pubsub.publish(TOPIC, data)
    await sleep(INTERVAL)
  } finally {
    await a.stop()
  }
}

interface Counts { swarm: number[], attacker: number[] }

/** Dials, retrying: a loaded machine resets some loopback dials */
async function dial (from: Libp2p, to: Libp2p): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await from.dial(to.getMultiaddrs()[0])
      return
    } catch (err) {
      if (attempt === 5) {
        throw err
      }
      await sleep(200 * attempt)
    }
  }
}

async function run (module: 'ours' | 'official'): Promise<{ steady: number[], attacked: Counts }> {
  const nodes: Array<Libp2p<any>> = []
  for (let i = 0; i < N; i++) {
    nodes.push(await node(module))
  }
  for (let i = 1; i < N; i++) {
    await dial(nodes[i], nodes[0])
    if (i > 1) {
      await dial(nodes[i], nodes[i - 1])
    }
  }

  const attackers = new Set<string>()
  let counting: Counts | undefined
  nodes.forEach((n, i) => {
    n.services.pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
      if (counting == null || evt.detail.topic !== TOPIC) {
        return
      }
      const fromAttacker = attackers.has(evt.detail.from?.toString())
      ;(fromAttacker ? counting.attacker : counting.swarm)[i]++
    })
  })

  await sleep(WARMUP * INTERVAL)

  const zero = (): number[] => Array.from({ length: N }, () => 0)
  counting = { swarm: zero(), attacker: zero() }
  await sleep(WINDOW * INTERVAL)
  const steady = counting.swarm.map(c => c / WINDOW)

  counting = { swarm: zero(), attacker: zero() }
  const attacks: Array<Promise<void>> = []
  const end = Date.now() + WINDOW * INTERVAL
  for (let i = 0; Date.now() < end; i++) {
    attacks.push(attack(nodes[1], i % 2 === 0, attackers).catch(() => {}))
    await sleep(INTERVAL / 2)
  }
  const attacked = { swarm: counting.swarm.map(c => c / WINDOW), attacker: counting.attacker.map(c => c / WINDOW) }
  counting = undefined
  await Promise.all(attacks)
  await Promise.all(nodes.map(async n => n.stop()))
  return { steady, attacked }
}

const rows: Array<Record<string, string | number>> = []
const results: Record<string, unknown> = {}

for (const module of ['ours', 'official'] as const) {
  const { steady, attacked } = await run(module)
  const s = median(steady)
  const a = median(attacked.swarm)
  rows.push({
    module,
    N,
    'steady msgs/node/interval': fmt(s),
    'under attack: from the swarm': fmt(a),
    'from the attacker': fmt(median(attacked.attacker)),
    'swarm increase': fmt(a - s)
  })
  results[module] = { steady, attacked }
}

printTable(`Churn attack: a new identity every ${INTERVAL / 2} ms connects to one node and announces (${WINDOW} intervals each, medians over ${N} nodes)`, rows)
writeResults('discovery-churn', { nodes: N, interval: INTERVAL, window: WINDOW, warmup: WARMUP, rows, perNode: results })
