/**
 * D2: whether an answer on a direct exchange "taught" the joiner something
 * (then it asks the same peer again an interval later). An answer teaches
 * only what the joiner would learn from it: records the triage of R14 and
 * the incoming filter would never let it learn must not keep it asking, up
 * to MAX_EXCHANGES_OPENED, an honest peer of a settled topic (which spends
 * that peer's node-wide answers, D4)
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { MAX_LEARNED_PER_RELAY } from '../src/constants.ts'
import { PubSubPeerDiscovery } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { ExchangeVerdict } from '../src/direct-exchange.ts'
import type { Connection, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Remote { key: PrivateKey, id: PeerId, addr: Multiaddr }

let port = 5000

async function remote (): Promise<Remote> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key), addr: multiaddr(`/ip4/93.184.216.34/tcp/${port++}`) }
}

async function sealed (signer: PrivateKey, about: PeerId, addrs: Multiaddr[]): Promise<Uint8Array<ArrayBuffer>> {
  const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: about, multiaddrs: addrs, seqNumber: BigInt(Date.now()) }), signer)
  return envelope.marshal() as Uint8Array<ArrayBuffer>
}

/** Lets background verification (signatures) finish */
async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('direct exchange: what an answer teaches (D2)', () => {
  let discovery: PubSubPeerDiscovery
  let emitted: string[]
  let hub: Remote

  beforeEach(async () => {
    const selfKey = await generateKeyPair('Ed25519')
    hub = await remote()
    const pubsub = new StubPubSub()
    pubsub.subscribers = [hub.id]
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(selfKey),
      privateKey: selfKey,
      peerStore: stubInterface<PeerStore>({ consumePeerRecord: async () => true }),
      // we dialled the hub over a public address: its relayed records' loopback addresses are not ours to dial (A1)
      connectionManager: stubInterface<ConnectionManager>({
        getConnections: (peer?: PeerId) => (peer?.equals(hub.id) === true ? [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] : [])
      }),
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
      events: new TypedEventEmitter(),
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, { interval: 60_000 })
    emitted = []
    discovery.addEventListener('peer', (evt) => { emitted.push(evt.detail.id.toString()) })
    discovery.afterStart()
    await settle()
  })

  afterEach(() => {
    discovery.stop()
    sinon.restore()
  })

  /** The hub's answer on our exchange with it (or, `hello`, its announcement on one it opened), relaying `records`; the verdict, once its records are taken */
  async function answer (records: Array<Uint8Array<ArrayBuffer>>, hello = false): Promise<ExchangeVerdict> {
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(hub.key.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: [hub.addr.bytes as Uint8Array<ArrayBuffer>],
      signedPeerRecord: await sealed(hub.key, hub.id, [hub.addr]),
      peerRecords: records
    })
    const verdict = (discovery as any).receivedDirect(hub.id, data, !hello) as ExchangeVerdict
    await settle()
    return verdict
  }

  it('the first answer teaches the peer itself; a record of a peer we learn from it teaches, once', async () => {
    const x = await remote()
    expect(await answer([])).to.equal('taught')
    expect(await answer([])).to.equal('accepted')

    const record = await sealed(x.key, x.id, [x.addr])
    expect(await answer([record])).to.equal('taught')
    expect(emitted).to.include(x.id.toString())
    expect(await answer([record])).to.equal('accepted')
  })

  it('records after one that does not decode teach nothing: the triage stops there (R14), so they are never learned', async () => {
    const x = await remote()
    await answer([])
    const records = [Uint8Array.from([1, 2, 3]) as Uint8Array<ArrayBuffer>, await sealed(x.key, x.id, [x.addr])]

    expect(await answer(records)).to.equal('accepted')
    expect(emitted).to.not.include(x.id.toString())
  })

  it('a record whose addresses the incoming filter drops, or that has none, teaches nothing: it is never learned', async () => {
    const [x, y] = await Promise.all([remote(), remote()])
    await answer([])
    const records = [await sealed(x.key, x.id, [multiaddr('/ip4/127.0.0.1/tcp/4001')]), await sealed(y.key, y.id, [])]

    expect(await answer(records)).to.equal('accepted')
    expect(await answer(records)).to.equal('accepted')
    expect(emitted).to.deep.equal([hub.id.toString()])
  })

  it(`records of a relay we learned ${MAX_LEARNED_PER_RELAY} peers from while joining teach nothing: no more are learned from it (R14)`, async () => {
    const peers = await Promise.all(Array.from({ length: MAX_LEARNED_PER_RELAY + 1 }, remote))
    const records = await Promise.all(peers.map(async p => sealed(p.key, p.id, [p.addr])))

    expect(await answer(records.slice(0, MAX_LEARNED_PER_RELAY))).to.equal('taught')
    expect(discovery.getMetrics().relayed).to.equal(MAX_LEARNED_PER_RELAY)

    expect(await answer(records.slice(MAX_LEARNED_PER_RELAY))).to.equal('accepted')
    expect(emitted).to.not.include(peers[MAX_LEARNED_PER_RELAY].id.toString())
  })

  it('the announcement on an exchange a peer opened with us is taken without judging what it teaches: only the side that opened it repeats it (D4)', async () => {
    const x = await remote()
    const judged = sinon.spy((discovery as any).exchange, 'namesUnknownPeer')

    expect(await answer([await sealed(x.key, x.id, [x.addr])], true)).to.equal('accepted')
    expect(judged.called).to.equal(false)
    // taken all the same (D3): the peer and the record it relayed
    expect(emitted).to.have.members([hub.id.toString(), x.id.toString()])
  })
})
