/**
 * What recognizing a relayed record we hold costs (R14), per record,
 * side by side in one run: decoding it as before the index (peekRecord:
 * envelope, peer id, sequence number), the index as 274d7c0 had it (the
 * bytes as base64, a Map of them) and the index now (RecordStore: a 32-bit
 * digest, then the bytes held compared in full); for a record held (hit)
 * and one not held (miss, which the index adds to the decode). Each is a
 * copy, half of them Buffers, as relays' messages bring them.
 *
 * Then the case that made the index a digest: `--held` records of one
 * length over 12 KB (a peer's own record may fill a 16 KB announcement: an
 * unknown field pads it and it still verifies), crafted to differ only in
 * their last 64 bytes, and a relayed record of that length not held. V8
 * hashes a string over 16383 characters by its length alone, so base64 keys
 * of such records share one hash bucket.
 *
 * Reports medians over `--rounds` rounds, microseconds per record.
 *
 * Run: `node bench/discovery/held-record.ts [--held 1024] [--rounds 7]`
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { toString as bytesToString } from 'uint8arrays/to-string'
import { openRecord, peekRecord, RecordStore } from '../../packages/pubsub-peer-discovery/src/peer-records.ts'
import { fmt, median, printTable } from '../lib/stats.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(args[i + 1])
}
const HELD = option('held', 1024)
const ROUNDS = option('rounds', 7)

interface Peer { key: PrivateKey, id: PeerId }

async function peer (): Promise<Peer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

/** A record of a public node: 4 addresses, as the swarm's nodes announce */
async function typicalRecord ({ key, id }: Peer, port: number): Promise<Uint8Array> {
  const multiaddrs = [`/ip4/93.184.216.34/tcp/${port}`, `/ip4/93.184.216.34/udp/${port}/quic-v1`, `/ip6/2606:2800:220:1::1/tcp/${port}`, `/ip4/93.184.216.34/tcp/${port + 1}/ws`].map(a => multiaddr(a))
  return (await RecordEnvelope.seal(new PeerRecord({ peerId: id, multiaddrs, seqNumber: 1n }), key)).marshal()
}

/** A record padded to `length` bytes by an unknown field placed first (identical in every such record) */
async function paddedRecord ({ key, id }: Peer, length: number): Promise<Uint8Array> {
  const envelope = (await RecordEnvelope.seal(new PeerRecord({ peerId: id, multiaddrs: [multiaddr('/ip4/93.184.216.34/tcp/4001')], seqNumber: 1n }), key)).marshal()
  const padding = new Uint8Array(length - envelope.length)
  const inner = padding.length - 4
  padding.set([0xfa, 0x01, (inner & 0x7f) | 0x80, inner >> 7])
  return new Uint8Array([...padding, ...envelope])
}

/** The index as 274d7c0 had it */
class Base64Index {
  private readonly byContent = new Map<string, string>()
  add (bytes: Uint8Array, peer: string): void { this.byContent.set(bytesToString(bytes, 'base64'), peer) }
  has (bytes: Uint8Array): boolean { return this.byContent.has(bytesToString(bytes, 'base64')) }
}

/** What the measured calls returned, kept so that they are not optimized away */
export let sink = 0

/** Microseconds per call of `fn` over `items`, median of ROUNDS rounds */
function perCall (items: Uint8Array[], fn: (bytes: Uint8Array) => unknown, repeat: number): number {
  const rounds: number[] = []

  for (let r = 0; r < ROUNDS + 1; r++) {
    const start = process.hrtime.bigint()
    for (let k = 0; k < repeat; k++) {
      for (const bytes of items) {
        if (fn(bytes) != null) {
          sink++
        }
      }
    }
    const us = Number(process.hrtime.bigint() - start) / 1000 / (repeat * items.length)
    if (r > 0) {
      rounds.push(us) // the first round warms up
    }
  }
  return median(rounds)
}

const typicalPeers = await Promise.all(Array.from({ length: 64 }, async () => peer()))
const typical = await Promise.all(typicalPeers.map(async (p, i) => typicalRecord(p, 4001 + 2 * i)))
const others = await Promise.all(Array.from({ length: 64 }, async (_, i) => typicalRecord(await peer(), 6001 + 2 * i)))

const store = new RecordStore(1024)
const base64 = new Base64Index()
typicalPeers.forEach((p, i) => { store.set(p.id, typical[i], 1n, 0); base64.add(typical[i], p.id.toString()) })

/** Copies, as a relay's message brings them (never the array held), half as Buffers: records come as both */
const relayed = (records: Uint8Array[]): Uint8Array[] => records.map((bytes, i) => i % 2 === 0 ? Uint8Array.from(bytes) : Buffer.from(bytes))
const hits = relayed(typical)
const misses = relayed(others)

printTable(`a typical record (${typical[0].length} bytes, 4 addresses), us per record, medians of ${ROUNDS} rounds`, [
  { path: 'decode (peekRecord, before the index)', hit: fmt(perCall(hits, peekRecord, 50)), miss: fmt(perCall(misses, peekRecord, 50)) },
  { path: 'index at 274d7c0 (base64 key)', hit: fmt(perCall(hits, b => base64.has(b), 500)), miss: fmt(perCall(misses, b => base64.has(b), 500)) },
  { path: 'index now (digest, then compare)', hit: fmt(perCall(hits, b => store.holdsRecord(b), 500)), miss: fmt(perCall(misses, b => store.holdsRecord(b), 500)) }
])

const LENGTH = 15 * 1024 + 200
const crafted = await Promise.all(Array.from({ length: HELD + 1 }, async () => {
  const p = await peer()
  return { p, bytes: await paddedRecord(p, LENGTH) }
}))
const check = await openRecord(crafted[0].bytes, 64)
if (typeof check === 'string') {
  throw new Error(`a padded record does not open: ${check}`)
}

const longStore = new RecordStore(HELD)
const longBase64 = new Base64Index()
for (const { p, bytes } of crafted.slice(0, HELD)) { longStore.set(p.id, bytes, 1n, 0); longBase64.add(bytes, p.id.toString()) }
const probe = relayed([crafted[HELD].bytes, crafted[HELD].bytes])

printTable(`${HELD} held records of ${LENGTH} bytes (they open and verify), a relayed one of that length not held, us per record, medians of ${ROUNDS} rounds`, [
  { path: 'decode (peekRecord, before the index)', miss: fmt(perCall(probe, peekRecord, 2000)) },
  { path: 'index at 274d7c0 (base64 key)', miss: fmt(perCall(probe, b => longBase64.has(b), 20)) },
  { path: 'index now (digest, then compare)', miss: fmt(perCall(probe, b => longStore.holdsRecord(b), 2000)) }
])
