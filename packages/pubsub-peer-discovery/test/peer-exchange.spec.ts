import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { PubSubPeerDiscovery, TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { Connection, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Remote { key: PrivateKey, id: PeerId, addr: Multiaddr }

let port = 4000

async function remote (): Promise<Remote> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key), addr: multiaddr(`/ip4/93.184.216.34/tcp/${port++}`) }
}

async function remotes (n: number): Promise<Remote[]> {
  return Promise.all(Array.from({ length: n }, remote))
}

async function sealed (signer: PrivateKey, about: PeerId, addrs: Multiaddr[], seq = BigInt(Date.now())): Promise<Uint8Array<ArrayBuffer>> {
  const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: about, multiaddrs: addrs, seqNumber: seq }), signer)
  return envelope.marshal() as Uint8Array<ArrayBuffer>
}

/** Lets background verification (signatures) finish */
async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('peer exchange (signed peer records)', () => {
  let pubsub: StubPubSub
  let discovery: PubSubPeerDiscovery
  let connected: Set<string>
  let consumed: Array<{ bytes: Uint8Array, expectedPeer?: PeerId }>
  let emitted: Array<{ id: string, addrs: string[] }>
  let selfKey: PrivateKey

  async function create (init: PubSubPeerDiscoveryInit = {}): Promise<void> {
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    selfKey = await generateKeyPair('Ed25519')
    connected = new Set()
    consumed = []
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(selfKey),
      privateKey: selfKey,
      peerStore: stubInterface<PeerStore>({
        consumePeerRecord: async (bytes: Uint8Array, options?: { expectedPeer?: PeerId }) => {
          consumed.push({ bytes, expectedPeer: options?.expectedPeer })
          return true
        }
      }),
      connectionManager: stubInterface<ConnectionManager>({
        getConnections: (peer?: PeerId) => (peer != null && connected.has(peer.toString()) ? [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] : [])
      }),
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
      events: new TypedEventEmitter(),
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, { interval: 60_000, ...init })
    emitted = []
    discovery.addEventListener('peer', (evt) => {
      emitted.push({ id: evt.detail.id.toString(), addrs: evt.detail.multiaddrs.map(ma => ma.toString()) })
    })
    discovery.afterStart()
    await settle()
  }

  /** `from` announces itself, with its own record unless told otherwise, and relays `records` */
  async function announce (from: Remote, options: { own?: Uint8Array<ArrayBuffer> | null, records?: Array<Uint8Array<ArrayBuffer>> } = {}): Promise<void> {
    const own = options.own === undefined ? await sealed(from.key, from.id, [from.addr]) : options.own ?? undefined
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(from.key.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: [from.addr.bytes as Uint8Array<ArrayBuffer>],
      signedPeerRecord: own,
      peerRecords: options.records ?? []
    })
    pubsub.deliver({ type: 'signed', topic: TOPIC, data, from: from.id })
    await settle()
  }

  /** Triggers an announcement now (an address change with no debounce) */
  async function announceNow (): Promise<Peer> {
    const before = pubsub.published.length
    ;(discovery as any).announce('test')
    expect(pubsub.published).to.have.lengthOf(before + 1)
    return Peer.decode(pubsub.published[before].data)
  }

  afterEach(() => {
    discovery?.stop()
    sinon.restore()
  })

  it('carries our own record, signed by us, with the addresses we announce', async () => {
    await create()
    const message = await announceNow()

    expect(message.signedPeerRecord).to.be.an.instanceOf(Uint8Array)
    const envelope = await RecordEnvelope.openAndCertify(message.signedPeerRecord as Uint8Array, PeerRecord.DOMAIN)
    const record = PeerRecord.createFromProtobuf(envelope.payload)
    expect(record.peerId.equals(peerIdFromPrivateKey(selfKey))).to.be.true()
    expect(record.multiaddrs.map(ma => ma.toString())).to.deep.equal(['/ip4/10.0.0.9/tcp/4001'])
    expect(message.peerRecords).to.be.empty()
  })

  it('stores the certified addresses of an announcer\'s own record, once per record', async () => {
    await create()
    const [a] = await remotes(1)
    const own = await sealed(a.key, a.id, [a.addr])

    await announce(a, { own })
    await announce(a, { own })

    expect(consumed).to.have.lengthOf(1)
    expect(consumed[0].expectedPeer?.equals(a.id)).to.be.true()
  })

  it('drops an own record signed by another key than the announcer\'s', async () => {
    await create()
    const [a, b] = await remotes(2)

    await announce(a, { own: await sealed(b.key, b.id, [b.addr]) })

    expect(consumed).to.be.empty()
    expect(discovery.getMetrics().dropped['invalid-record']).to.equal(1)
    // the announcement itself is valid: a is discovered
    expect(emitted.map(e => e.id)).to.deep.equal([a.id.toString()])
  })

  it('learns peers from relayed records, with the addresses they signed', async () => {
    await create()
    const [relay, x, y] = await remotes(3)
    connected.add(relay.id.toString())

    await announce(relay, { records: [await sealed(x.key, x.id, [x.addr]), await sealed(y.key, y.id, [y.addr])] })

    expect(emitted.map(e => e.id)).to.have.members([relay.id.toString(), x.id.toString(), y.id.toString()])
    expect(emitted.find(e => e.id === x.id.toString())?.addrs).to.deep.equal([x.addr.toString()])
    expect(discovery.getMetrics().relayed).to.equal(2)
  })

  it('drops a forged relayed record and the records after it, and learns nothing from them', async () => {
    await create()
    const [relay, x, y, z] = await remotes(4)
    connected.add(relay.id.toString())
    // a record about x signed by y: the signer is not the peer it describes
    const forged = await sealed(y.key, x.id, [multiaddr('/ip4/6.6.6.6/tcp/1')])
    // a record with a flipped byte in its signature
    const tampered = await sealed(z.key, z.id, [z.addr])
    tampered[tampered.length - 1] ^= 0xff

    await announce(relay, { records: [forged, await sealed(x.key, x.id, [x.addr])] })
    await announce(relay, { records: [tampered] })
    await announce(relay, { records: [new Uint8Array([1, 2, 3]) as Uint8Array<ArrayBuffer>] })

    expect(emitted.map(e => e.id)).to.deep.equal([relay.id.toString()])
    expect(discovery.getMetrics().dropped['invalid-record']).to.equal(3)
  })

  it('does not verify or re-emit relayed records of peers it knows', async () => {
    await create()
    const [relay, x] = await remotes(2)
    await announce(x)
    expect(emitted).to.have.lengthOf(1)

    // a different (older) address for x from a relay: ignored, x is known
    await announce(relay, { records: [await sealed(x.key, x.id, [multiaddr('/ip4/10.9.9.9/tcp/1')], 1n)] })
    expect(emitted.map(e => e.id)).to.deep.equal([x.id.toString(), relay.id.toString()])
  })

  it('relays records only when a peer connected to us joins, and only of peers heard announcing themselves', async () => {
    await create()
    const [a, b, relay, x, joiner] = await remotes(5)
    await announce(a)
    await announce(b)
    // x is only known through a relay: its record is never relayed on
    await announce(relay, { own: null, records: [await sealed(x.key, x.id, [x.addr])] })

    // nobody connected joined: no records of others
    expect((await announceNow()).peerRecords).to.be.empty()

    connected.add(joiner.id.toString())
    await announce(joiner)
    const first = await announceNow()
    const signers = first.peerRecords.map(bytes => RecordEnvelope.createFromProtobuf(bytes).publicKey.toString())
    // not the joiner's own: it knows itself
    expect(signers).to.have.members([a.key.publicKey.toString(), b.key.publicKey.toString()])

    // two announcements carry records per join, then none
    expect((await announceNow()).peerRecords).to.have.lengthOf(2)
    expect((await announceNow()).peerRecords).to.be.empty()
  })

  it('relays joiners\' records to each other when several join at once', async () => {
    await create()
    const [a, j1, j2] = await remotes(3)
    await announce(a)
    connected.add(j1.id.toString())
    connected.add(j2.id.toString())
    await announce(j1)
    await announce(j2)

    const signers = (await announceNow()).peerRecords.map(bytes => RecordEnvelope.createFromProtobuf(bytes).publicKey.toString())
    expect(signers).to.have.members([a.key.publicKey.toString(), j1.key.publicKey.toString(), j2.key.publicKey.toString()])
  })

  it('relays records to a joiner even when another peer relayed as many since the join (the joiner may not be connected to it)', async () => {
    await create()
    const [a, b, relay, joiner] = await remotes(4)
    await announce(a)
    await announce(b)
    // a relay connected to us (but not joining: known before)
    await announce(relay, { own: null })
    connected.add(relay.id.toString())
    connected.add(joiner.id.toString())
    await announce(joiner)
    const [v, w] = await remotes(2)
    await announce(relay, { own: null, records: [await sealed(v.key, v.id, [v.addr]), await sealed(w.key, w.id, [w.addr])] })
    expect((await announceNow()).peerRecords).to.have.lengthOf(2)
  })

  it('announcements without records to relay do not use up the ones a join asks for', async () => {
    await create()
    const [a, joiner] = await remotes(2)
    connected.add(joiner.id.toString())
    // a joiner running the official module: no record of its own
    await announce(joiner, { own: null })
    expect((await announceNow()).peerRecords).to.be.empty()
    expect((await announceNow()).peerRecords).to.be.empty()

    await announce(a)
    expect((await announceNow()).peerRecords).to.have.lengthOf(1)
  })

  it('records due to a join expire after a few intervals', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    await create({ interval: 10_000 })
    const [a, joiner] = await remotes(2)
    await announce(a)
    connected.add(joiner.id.toString())
    await announce(joiner)

    // no subscribers meanwhile: none of our announcements went out (and
    // used up what is due); YOUNG_PEER_INTERVALS intervals later, nothing
    // is due any more
    const subscribers = pubsub.subscribers
    pubsub.subscribers = []
    await clock.tickAsync(3 * 10_000 + 1)
    pubsub.subscribers = subscribers
    await announce(a)
    expect((await announceNow()).peerRecords).to.be.empty()
  })

  it('survives an address filter that throws: logs, announces nothing, keeps running', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    let throwing = true
    await create({ interval: 10_000, addressFilter: () => { if (throwing) { throw new Error('bad filter') } return true } })
    const before = pubsub.published.length

    // timers fire the periodic announcement: no exception escapes them
    await clock.tickAsync(3 * 10_000)
    expect(pubsub.published).to.have.lengthOf(before)

    throwing = false
    await clock.tickAsync(2 * 10_000)
    expect(pubsub.published.length).to.be.greaterThan(before)
  })

  it('keeps the records within maxExchangedPeers and the message size limit', async () => {
    await create({ maxExchangedPeers: 5 })
    const peers = await remotes(12)
    for (const p of peers) { await announce(p) }
    const joiner = await remote()
    connected.add(joiner.id.toString())
    await announce(joiner)
    expect((await announceNow()).peerRecords).to.have.lengthOf(5)

    discovery.stop()
    await create({ maxMessageSize: 1024 })
    for (const p of peers) { await announce(p) }
    connected.add(joiner.id.toString())
    await announce(joiner)
    const limited = pubsub.published.length
    ;(discovery as any).announce('test')
    const data = pubsub.published[limited].data
    expect(data.byteLength).to.be.at.most(1024)
    expect(Peer.decode(data).peerRecords.length).to.be.within(1, 11)
  })

  it('relays nothing with maxExchangedPeers: 0', async () => {
    await create({ maxExchangedPeers: 0 })
    const [a, joiner] = await remotes(2)
    await announce(a)
    connected.add(joiner.id.toString())
    await announce(joiner)

    expect((await announceNow()).peerRecords).to.be.empty()
  })

  it('drops a message with more relayed records than a message may carry', async () => {
    await create({ maxMessageSize: 1024 * 1024 })
    const [relay, x] = await remotes(2)
    const record = await sealed(x.key, x.id, [x.addr])

    await announce(relay, { records: Array.from({ length: 257 }, () => record) })

    expect(emitted).to.be.empty()
    expect(discovery.getMetrics().dropped['too-many-records']).to.equal(1)
  })

  it('learns from relayed records only while joining, and never counts relayed peers as heard', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    await create({ interval: 10_000 })
    const [relay, x, y] = await remotes(3)
    connected.add(relay.id.toString())

    await announce(relay, { records: [await sealed(x.key, x.id, [x.addr])] })
    expect(emitted.map(e => e.id)).to.include(x.id.toString())
    // the estimate of the topic's size counts peers heard announcing themselves
    expect(discovery.getMetrics().peers).to.equal(1)

    // long after our start: relayed records teach nothing
    await clock.tickAsync(11 * 10_000)
    await announce(relay, { records: [await sealed(y.key, y.id, [y.addr])] })
    expect(emitted.map(e => e.id)).to.not.include(y.id.toString())
  })

  it('past joining, does not even decode relayed records (peeking one validates its key: a 16 KB announcement holds ~95 secp256k1 records)', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    await create({ interval: 10_000 })
    const [relay, x] = await remotes(2)
    connected.add(relay.id.toString())
    const junk = new Uint8Array([1, 2, 3]) as Uint8Array<ArrayBuffer>

    await announce(relay, { records: [junk] })
    expect(discovery.getMetrics().dropped['invalid-record']).to.equal(1)

    await clock.tickAsync(11 * 10_000)
    // an older record of a peer we hold, then junk: neither is looked at
    await announce(x)
    await announce(relay, { records: [await sealed(x.key, x.id, [x.addr], 1n), junk] })
    expect(discovery.getMetrics().dropped['invalid-record']).to.equal(1)
    expect(discovery.getMetrics().dropped['stale-record']).to.equal(0)
  })

  it('ignores relayed records without addresses, and emits no peer for an announcement without addresses', async () => {
    await create()
    const [relay, x, bare] = await remotes(3)
    await announce(relay, { records: [await sealed(x.key, x.id, [])] })
    const data = Peer.encode({ publicKey: publicKeyToProtobuf(bare.key.publicKey) as Uint8Array<ArrayBuffer>, addrs: [], peerRecords: [] })
    pubsub.deliver({ type: 'signed', topic: TOPIC, data, from: bare.id })
    await settle()

    expect(emitted.map(e => e.id)).to.deep.equal([relay.id.toString()])
  })

  it('ignores verifications that finish after a stop, even once started again', async () => {
    await create()
    const [relay, x] = await remotes(2)
    const records = [await sealed(x.key, x.id, [x.addr])]
    const data = Peer.encode({ publicKey: publicKeyToProtobuf(relay.key.publicKey) as Uint8Array<ArrayBuffer>, addrs: [relay.addr.bytes as Uint8Array<ArrayBuffer>], peerRecords: records })

    pubsub.deliver({ type: 'signed', topic: TOPIC, data, from: relay.id })
    discovery.stop()
    discovery.afterStart()
    await settle()

    expect(emitted.map(e => e.id)).to.deep.equal([relay.id.toString()])
  })

  it('keeps our own announcement within maxAddresses and maxMessageSize', async () => {
    const many = Array.from({ length: 100 }, (_, i) => multiaddr(`/ip4/10.1.0.${i % 250}/tcp/${1000 + i}`))
    await create({ maxMessageSize: 1024 })
    ;(discovery as any).components.addressManager = stubInterface<AddressManager>({ getAddresses: () => many })
    await announceNow()
    await settle()
    const message = await announceNow()
    expect(Peer.encode(message).byteLength).to.be.at.most(1024)
    expect(message.addrs.length).to.be.within(1, 64)
  })

  it('signs a record of exactly the addresses it announces, when the filter or the limits drop some', async () => {
    const many = Array.from({ length: 100 }, (_, i) => multiaddr(`/ip4/10.1.0.${i % 250}/tcp/${1000 + i}`))
    const certified = async (message: Peer): Promise<string[]> => {
      expect(message.signedPeerRecord, 'our record').to.be.an.instanceOf(Uint8Array)
      const envelope = await RecordEnvelope.openAndCertify(message.signedPeerRecord as Uint8Array, PeerRecord.DOMAIN)
      return PeerRecord.createFromProtobuf(envelope.payload).multiaddrs.map(ma => ma.toString())
    }

    // the size limit drops some
    await create({ maxMessageSize: 1024 })
    ;(discovery as any).components.addressManager = stubInterface<AddressManager>({ getAddresses: () => many })
    await announceNow()
    await settle()
    let message = await announceNow()
    expect(Peer.encode(message).byteLength).to.be.at.most(1024)
    expect(await certified(message)).to.deep.equal(message.addrs.map(bytes => multiaddr(bytes).toString()))

    // the filter drops some (publicAddressesOnly on a node with private and public addresses)
    discovery.stop()
    await create({ addressFilter: (ma) => !ma.toString().includes('10.0.0.9') })
    ;(discovery as any).components.addressManager = stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001'), multiaddr('/ip4/93.184.216.9/tcp/4001')] })
    await announceNow()
    await settle()
    message = await announceNow()
    expect(message.addrs.map(bytes => multiaddr(bytes).toString())).to.deep.equal(['/ip4/93.184.216.9/tcp/4001'])
    expect(await certified(message)).to.deep.equal(['/ip4/93.184.216.9/tcp/4001'])
  })

  describe('answers to joining peers (fake time)', () => {
    const interval = 10_000
    let clock: sinon.SinonFakeTimers

    /** A node past its warm-up that knows `crowd` */
    async function steady (crowd: Remote[], init: PubSubPeerDiscoveryInit = {}): Promise<void> {
      clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create({ interval, ...init })
      // the crowd keeps announcing, so it stays heard
      for (let i = 0; i < 12; i++) {
        for (const p of crowd) { await announce(p) }
        await clock.tickAsync(interval)
      }
    }

    async function publishesWithin (ms: number): Promise<Peer[]> {
      const before = pubsub.published.length
      await clock.tickAsync(ms)
      return pubsub.published.slice(before).map(p => Peer.decode(p.data))
    }

    it('a node connected to a joiner answers first, with records', async () => {
      const crowd = await remotes(3)
      await steady(crowd)
      const joiner = await remote()
      connected.add(joiner.id.toString())
      const heard = Date.now()
      await announce(joiner)

      // within an eighth of an interval, or half an interval after our last
      // announcement if that is later (no two closer than that)
      const lastPublished = pubsub.published[pubsub.published.length - 1].at
      const due = Math.max(heard + interval / 8, lastPublished + interval / 2)
      const answers = await publishesWithin(due - Date.now() + 1)
      expect(answers).to.have.lengthOf(1)
      // the crowd's, not the joiner's own
      expect(answers[0].peerRecords.length).to.equal(3)
    })

    it('does not answer a joiner that is not connected to us, whatever module it runs', async () => {
      for (const own of [undefined, null]) {
        sinon.restore()
        discovery?.stop()
        sinon.stub(Math, 'random').returns(0.5)
        // one announcement per 4 intervals: no periodic one in the way
        await steady(await remotes(3), { targetAnnouncements: 1 })
        const before = pubsub.published.length
        const [joiner] = await remotes(1)
        await announce(joiner, { own })
        expect(emitted.map(e => e.id)).to.include(joiner.id.toString())
        // nothing until the periodic announcement, at least half a period away
        expect(await publishesWithin(1.5 * interval)).to.have.lengthOf(0, own === null ? 'official' : 'ours')
        expect(pubsub.published.length).to.equal(before)
      }
    })

    it('answers a young peer\'s repeated announcements only if it runs the official module', async () => {
      const counts: number[] = []

      for (const own of [undefined, null]) {
        sinon.restore()
        discovery?.stop()
        sinon.stub(Math, 'random').returns(0.5)
        // a period of 9 intervals: few periodic announcements in the way
        await steady(await remotes(8), { targetAnnouncements: 1 })
        const young = await remote()
        connected.add(young.id.toString())
        const before = pubsub.published.length
        for (let i = 0; i < 3; i++) {
          await announce(young, { own })
          await clock.tickAsync(interval)
        }
        counts.push(pubsub.published.length - before)
      }

      const [ours, official] = counts
      // ours: the one answer; official: answered again while young
      expect(official).to.be.greaterThan(ours)
    })
  })

  it('rejects a negative maxExchangedPeers', async () => {
    await expect(create({ maxExchangedPeers: -1 })).to.eventually.be.rejected.with.property('name', 'InvalidDiscoveryOptionError')
  })
})
