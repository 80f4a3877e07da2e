import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { Peer } from '../src/pb/peer.ts'
import { validateAnnouncement } from '../src/validate.ts'
import type { PubSubMessage } from '../src/pubsub.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const limits = { maxMessageSize: 8192, maxAddresses: 64, maxPeerRecords: 256, allowUnsigned: false }

describe('announcement validation', () => {
  let self: PeerId
  let key: PrivateKey
  let author: PeerId

  before(async () => {
    self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    key = await generateKeyPair('Ed25519')
    author = peerIdFromPrivateKey(key)
  })

  function message (data: Uint8Array, from: PeerId | null = author): PubSubMessage {
    return from == null ? { type: 'unsigned', topic: 't', data } : { type: 'signed', topic: 't', data, from }
  }

  function announcement (addrs: string[] = ['/ip4/1.2.3.4/tcp/4001'], publicKey = publicKeyToProtobuf(key.publicKey)): Uint8Array {
    return Peer.encode({ publicKey: publicKey as Uint8Array<ArrayBuffer>, addrs: addrs.map(a => multiaddr(a).bytes as Uint8Array<ArrayBuffer>) })
  }

  it('accepts an announcement signed by the peer it announces', () => {
    const result = validateAnnouncement(message(announcement()), self, limits)
    expect(result).to.not.be.a('string')
    if (typeof result !== 'string') {
      expect(result.peer.equals(author)).to.be.true()
      expect(result.multiaddrs.map(ma => ma.toString())).to.deep.equal(['/ip4/1.2.3.4/tcp/4001'])
    }
  })

  it('drops an announcement of another peer (spoofed)', async () => {
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(validateAnnouncement(message(announcement(), other), self, limits)).to.equal('spoofed')
  })

  it('drops unsigned messages unless allowed', () => {
    expect(validateAnnouncement(message(announcement(), null), self, limits)).to.equal('unsigned')
    expect(validateAnnouncement(message(announcement(), null), self, { ...limits, allowUnsigned: true })).to.not.be.a('string')
  })

  it('drops our own announcement', async () => {
    const selfKey = await generateKeyPair('Ed25519')
    const me = peerIdFromPrivateKey(selfKey)
    expect(validateAnnouncement(message(announcement(undefined, publicKeyToProtobuf(selfKey.publicKey)), me), me, limits)).to.equal('self')
  })

  it('drops oversized messages and too many addresses', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `/ip4/10.0.${Math.floor(i / 256) % 256}/${i % 256}/tcp/1`.replace('/ip4/10.0.', '/ip4/10.0.').replace(/\/(\d+)\/tcp/, '.$1/tcp'))
    expect(validateAnnouncement(message(announcement(many)), self, limits)).to.equal('oversized')
    expect(validateAnnouncement(message(announcement(many)), self, { ...limits, maxMessageSize: 10_000_000 })).to.equal('too-many-addresses')
  })

  it('drops invalid keys and invalid multiaddrs', () => {
    expect(validateAnnouncement(message(announcement(undefined, new Uint8Array([1, 2, 3]))), self, limits)).to.equal('invalid-key')
    const bad = Peer.encode({ publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>, addrs: [new Uint8Array([0xff, 0xff, 0xff]) as Uint8Array<ArrayBuffer>] })
    expect(validateAnnouncement(message(bad), self, limits)).to.equal('invalid-address')
  })

  it('never throws on random, truncated or corrupted payloads', () => {
    const valid = announcement(['/ip4/1.2.3.4/tcp/4001', '/dns4/example.com/tcp/443/wss'])
    const reasons = new Set<string>()

    for (let i = 0; i < 2_000; i++) {
      let data: Uint8Array
      if (i % 3 === 0) {
        data = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 200)))
      } else if (i % 3 === 1) {
        data = valid.subarray(0, Math.floor(Math.random() * valid.byteLength))
      } else {
        data = valid.slice()
        data[Math.floor(Math.random() * data.byteLength)] ^= 1 + Math.floor(Math.random() * 255)
      }

      const result = validateAnnouncement(message(data), self, limits)
      reasons.add(typeof result === 'string' ? result : 'accepted')
    }

    // every outcome is one of the named ones
    for (const reason of reasons) {
      expect(['accepted', 'undecodable', 'invalid-key', 'invalid-address', 'spoofed', 'too-many-addresses', 'oversized']).to.include(reason)
    }
    expect(reasons.size).to.be.greaterThan(2)
  })
})
