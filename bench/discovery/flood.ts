/**
 * A flood from fresh identities (issue 14, item 3): every interval, 1,000
 * authors never seen before each send one signed announcement of
 * themselves, with a signed peer record (field 3) and a public address.
 * What it costs a node, side by side in one run: ours with its node-wide
 * budgets (defaults: 128 new peers and 256 signature verifications per
 * interval), ours with the budgets lifted (to show what they bound), and
 * the official module.
 *
 * The modules are driven directly through a stand-in pubsub service that
 * runs the topic validator and delivers messages as gossipsub does: the
 * figures are the modules' own cost. gossipsub's check of each message's
 * signature comes on top, the same for every module (about 1,000
 * Ed25519 verifications per interval here). Keys, records and messages are
 * built before the clock starts.
 *
 * No module announces (the stand-in has no subscribers); the official
 * module runs with `listenOnly: false`, as with `listenOnly` it emits nothing.
 *
 * Reports, per module, medians over the measured intervals (the first one
 * is a warm-up and is left out): CPU time spent per interval (user +
 * system, ms, and as a share of one core), `peer` events emitted per
 * interval, and signature verifications of records per interval.
 *
 *   node bench/discovery/flood.ts [--authors 1000] [--intervals 6] [--interval 1000]
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { serviceCapabilities } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { pubsubPeerDiscovery as officialDiscovery } from '@libp2p/pubsub-peer-discovery'
import { multiaddr } from '@multiformats/multiaddr'
import { Peer, pubsubPeerDiscovery, TOPIC } from '@x/pubsub-peer-discovery'
import { TypedEventEmitter } from 'main-event'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { PeerDiscovery, PeerId } from '@libp2p/interface'

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const AUTHORS = option('authors', 1000)
const INTERVALS = option('intervals', 6)
const INTERVAL = option('interval', 1000)

interface Message { type: 'signed', topic: string, data: Uint8Array, from: PeerId, sequenceNumber: bigint }

/** Runs the topic validator (if any) and delivers accepted messages, as gossipsub does */
class StandInPubSub extends TypedEventEmitter<any> {
  readonly [serviceCapabilities] = ['@libp2p/pubsub']
  readonly topicValidators = new Map<string, (source: PeerId, message: Message) => string>()
  subscribe (): void {}
  unsubscribe (): void {}
  getSubscribers (): PeerId[] { return [] }
  publish (): void {}

  deliver (message: Message): void {
    const validator = this.topicValidators.get(message.topic)

    if (validator == null || validator(message.from, message) === 'accept') {
      this.safeDispatchEvent('message', { detail: message })
    }
  }
}

let seqno = 1n

/** Announcements of `n` fresh authors, each with its signed record */
async function freshAuthors (n: number): Promise<Message[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key)
    const addr = multiaddr(`/ip4/93.184.${Math.floor(i / 250) % 250}.${i % 250 + 1}/tcp/4001`)
    const record = await RecordEnvelope.seal(new PeerRecord({ peerId: id, multiaddrs: [addr] }), key)
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: [addr.bytes as Uint8Array<ArrayBuffer>],
      signedPeerRecord: record.marshal() as Uint8Array<ArrayBuffer>,
      peerRecords: []
    })
    return { type: 'signed' as const, topic: TOPIC, data, from: id, sequenceNumber: seqno++ }
  }))
}

interface Subject { name: string, create: (components: any) => PeerDiscovery }

const SUBJECTS: Subject[] = [
  { name: 'ours (budgets)', create: (components) => pubsubPeerDiscovery({ interval: INTERVAL, listenOnly: false })(components) },
  { name: 'ours (no budgets)', create: (components) => pubsubPeerDiscovery({ interval: INTERVAL, listenOnly: false, maxNewPeersPerInterval: 1e9, maxVerificationsPerInterval: 1e9, maxPeers: 1e6 })(components) },
  { name: 'official', create: (components) => officialDiscovery({ interval: INTERVAL, listenOnly: false })(components as any) }
]

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const rounds: Message[][] = []
for (let i = 0; i < INTERVALS; i++) {
  rounds.push(await freshAuthors(AUTHORS))
}

const rows: Array<Record<string, string | number>> = []
const results: Record<string, unknown> = {}

for (const subject of SUBJECTS) {
  const selfKey = await generateKeyPair('Ed25519')
  const pubsub = new StandInPubSub()
  let verifications = 0
  const openAndCertify = RecordEnvelope.openAndCertify
  RecordEnvelope.openAndCertify = async (...a: Parameters<typeof openAndCertify>) => { verifications++; return openAndCertify(...a) }
  const peerStore = { consumePeerRecord: async () => true }
  const discovery = subject.create({
    peerId: peerIdFromPrivateKey(selfKey),
    privateKey: selfKey,
    peerStore,
    connectionManager: { getConnections: () => [] },
    addressManager: { getAddresses: () => [] },
    events: new TypedEventEmitter(),
    logger: defaultLogger(),
    pubsub
  })
  let emitted = 0
  discovery.addEventListener('peer', () => { emitted++ })
  await (discovery as any).start?.()
  await (discovery as any).afterStart?.()

  const perInterval: Array<{ cpuMs: number, emitted: number, verifications: number }> = []

  for (const round of rounds) {
    const start = Date.now()
    const cpu = process.cpuUsage()
    const before = { emitted, verifications }

    for (const message of round) {
      pubsub.deliver(message)
    }

    // what the messages set off (record verifications) runs within the interval
    await sleep(Math.max(0, start + INTERVAL - Date.now()))
    const used = process.cpuUsage(cpu)
    perInterval.push({ cpuMs: (used.user + used.system) / 1000, emitted: emitted - before.emitted, verifications: verifications - before.verifications })
  }

  await (discovery as any).beforeStop?.()
  await (discovery as any).stop?.()
  RecordEnvelope.openAndCertify = openAndCertify

  const measured = perInterval.slice(1)
  const cpuMs = median(measured.map(m => m.cpuMs))
  rows.push({
    module: subject.name,
    'authors/interval': AUTHORS,
    'cpu ms/interval': fmt(cpuMs, 1),
    'share of a core': `${fmt(100 * cpuMs / INTERVAL, 1)}%`,
    'peers emitted/interval': median(measured.map(m => m.emitted)),
    'verifications/interval': median(measured.map(m => m.verifications))
  })
  results[subject.name] = perInterval
}

printTable(`Flood: ${AUTHORS} fresh authors per ${INTERVAL} ms interval, one announcement each (medians over ${INTERVALS - 1} intervals)`, rows)
writeResults('discovery-flood', { authors: AUTHORS, interval: INTERVAL, intervals: INTERVALS, rows, perInterval: results })
