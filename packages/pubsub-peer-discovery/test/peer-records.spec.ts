import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { RecordStore } from '../src/peer-records.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

async function sealed (key: PrivateKey, port: number, seq: bigint): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(key), multiaddrs: [multiaddr(`/ip4/93.184.216.34/tcp/${port}`)], seqNumber: seq }), key)
  return envelope.marshal()
}

async function peer (): Promise<{ key: PrivateKey, id: PeerId }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

describe('record store', () => {
  it('recognizes a record it holds by its bytes alone (a copy of them, of whichever peer), and nothing else', async () => {
    const store = new RecordStore(8)
    const a = await peer()
    const record = await sealed(a.key, 1, 1n)
    store.set(a.id, record, 1n, 0)

    expect(store.holdsRecord(record.slice())).to.be.true()
    expect(store.holdsRecord(await sealed(a.key, 2, 1n))).to.be.false()
    const flipped = record.slice()
    flipped[flipped.length - 1] ^= 0xff
    expect(store.holdsRecord(flipped)).to.be.false()
  })

  it('forgets the bytes of a record replaced by a newer one, evicted, or cleared', async () => {
    const store = new RecordStore(2)
    const [a, b, c] = [await peer(), await peer(), await peer()]
    const older = await sealed(a.key, 1, 1n)
    const newer = await sealed(a.key, 2, 2n)
    store.set(a.id, older, 1n, 0)
    store.set(a.id, newer, 2n, 0)

    expect(store.holdsRecord(older)).to.be.false()
    expect(store.holdsRecord(newer)).to.be.true()

    // an older record does not replace the newer one
    expect(store.set(a.id, older, 1n, 0)).to.be.false()
    expect(store.holdsRecord(older)).to.be.false()

    // a, the least recently heard, is evicted by the third peer
    const ofB = await sealed(b.key, 3, 1n)
    const ofC = await sealed(c.key, 4, 1n)
    store.set(b.id, ofB, 1n, 0)
    store.set(c.id, ofC, 1n, 0)
    expect(store.holdsRecord(newer)).to.be.false()
    expect(store.holdsRecord(ofB)).to.be.true()

    store.clear()
    expect(store.holdsRecord(ofB)).to.be.false()
    expect(store.holdsRecord(ofC)).to.be.false()
  })
})
