import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { digest, RecordStore } from '../src/peer-records.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

async function sealed (key: PrivateKey, port: number, seq: bigint): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(key), multiaddrs: [multiaddr(`/ip4/93.184.216.34/tcp/${port}`)], seqNumber: seq }), key)
  return envelope.marshal()
}

/** Two different byte strings of one digest (a birthday search over 8-byte strings: 57673 tries) */
function collidingPair (): [Uint8Array, Uint8Array] {
  const seen = new Map<number, Uint8Array>()

  for (let i = 0; ; i++) {
    const bytes = new Uint8Array(8)
    const view = new DataView(bytes.buffer)
    view.setUint32(0, i)
    view.setUint32(4, Math.imul(i, 0x9e3779b1))
    const other = seen.get(digest(bytes))

    if (other != null) {
      return [other, bytes]
    }

    seen.set(digest(bytes), bytes)
  }
}

/** What the store's index costs: its keys, as they would be hashed */
function indexKeys (store: RecordStore): unknown[] {
  return [...(store as unknown as { byContent: Map<unknown, string> }).byContent.keys()]
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

  it('indexes a held record by a key of a few bytes whatever its size (V8 hashes a string over 16383 characters by its length alone)', async () => {
    const store = new RecordStore(8)
    const a = await peer()
    // a record padded to fill a 16 KB announcement: an unknown field (31,
    // 15359 bytes) that decoders skip, so the record still opens and verifies
    const padding = new Uint8Array(15 * 1024 + 3)
    padding.set([0xfa, 0x01, 0xff, 0x77])
    const large = new Uint8Array([...await sealed(a.key, 1, 1n), ...padding])
    store.set(a.id, large, 1n, 0)

    expect(store.holdsRecord(large.slice())).to.be.true()
    expect(store.holdsRecord(large.subarray(0, large.length - 1))).to.be.false()
    for (const key of indexKeys(store)) {
      expect(typeof key === 'string' ? key.length : 8).to.be.at.most(64)
    }
  })

  it('takes a record of the same digest as one held for neither, and forgets by the peer that holds the key', async () => {
    const store = new RecordStore(8)
    const [x, y] = collidingPair()
    const [{ id: a }, { id: b }] = [await peer(), await peer()]

    store.set(a, x, 1n, 0)
    expect(store.holdsRecord(x)).to.be.true()
    expect(store.holdsRecord(y)).to.be.false()

    // b holds the colliding record; replacing it must not forget a's
    store.set(b, y, 1n, 0)
    expect(store.holds(b, y)).to.be.true()
    store.set(b, new Uint8Array([1, 2, 3]), 2n, 0)
    expect(store.holdsRecord(x)).to.be.true()
    expect(store.holdsRecord(y)).to.be.false()

    store.set(a, new Uint8Array([4, 5, 6]), 2n, 0)
    expect(store.holdsRecord(x)).to.be.false()
  })

  it('keeps a copy of a record, not a view of the message it came in (which it would keep whole)', async () => {
    const store = new RecordStore(8)
    const a = await peer()
    const record = await sealed(a.key, 1, 1n)
    // a record decoded from a message is a view of the message's buffer
    const message = new Uint8Array(64 * 1024)
    message.set(record, 100)
    store.set(a.id, message.subarray(100, 100 + record.length), 1n, 0)
    message.fill(0)

    const [held] = store.pick(1, 64 * 1024, 0, 1000, new Set())
    expect(held).to.equalBytes(record)
    expect(held.buffer.byteLength).to.equal(record.length)
    expect(store.holdsRecord(record)).to.be.true()
  })
})
