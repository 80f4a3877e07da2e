/**
 * The direct exchange (PROTOCOL.md D1-D5) between real nodes whose pubsub
 * service delivers nothing: as gossipsub before it has opened its stream
 * to a peer (js gossipsub opens them one at a time, so a node many peers
 * dial at once reaches the last of them many seconds later). Whatever the
 * nodes learn here, they learn on the exchange stream.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { EXCHANGE_PROTOCOL } from '../src/constants.ts'
import { pubsubPeerDiscovery } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscovery, PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { Libp2p, PeerInfo } from '@libp2p/interface'

interface ExchangeNode {
  node: Libp2p<any>
  discovery: PubSubPeerDiscovery
  pubsub: StubPubSub
  found: Map<string, PeerInfo>
}

/** A node whose pubsub service has no subscriber and delivers nothing */
async function createNode (init: PubSubPeerDiscoveryInit = {}): Promise<ExchangeNode> {
  let pubsub: StubPubSub | undefined
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      gossip: () => { pubsub = new StubPubSub(); return pubsub },
      discovery: pubsubPeerDiscovery({ interval: 1000, ...init })
    } as any
  })
  const discovery = (node.services as any).discovery as PubSubPeerDiscovery
  const found = new Map<string, PeerInfo>()
  discovery.addEventListener('peer', (evt) => { found.set(evt.detail.id.toString(), evt.detail) })
  await node.start()
  return { node, discovery, pubsub: pubsub!, found }
}

/** A libp2p node without this module (a hostile or hand-scripted peer), listening on `listen` */
async function createBareNode (listen: string[] = []): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify() }
  })
}

describe('direct exchange (pubsub delivering nothing)', function () {
  this.timeout(60_000)
  let nodes: ExchangeNode[] = []

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.node.stop()))
    nodes = []
  })

  it('a joining node and the peer it dials learn each other, and the joiner learns the peers that peer heard, on the exchange stream alone', async () => {
    const [hub, early, joiner] = nodes = await Promise.all([createNode(), createNode(), createNode()])
    const id = (n: ExchangeNode): string => n.node.peerId.toString()

    await early.node.dial(hub.node.getMultiaddrs()[0])
    // the hub verifies the record in the early node's announcement right
    // after emitting it (no I/O between), long before the joiner's
    // announcement reaches it after a dial, a handshake and identify
    await waitUntil(() => hub.found.has(id(early)) && early.found.has(id(hub)))

    await joiner.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => joiner.found.has(id(hub)) && joiner.found.has(id(early)) && hub.found.has(id(joiner)))

    // the early node's own address, from its record the hub relayed
    const relayed = joiner.found.get(id(early))?.multiaddrs.map(String) ?? []
    expect(relayed).to.not.be.empty()
    expect(relayed.every(a => early.node.getMultiaddrs().some(own => own.toString().startsWith(a)))).to.equal(true)
    // nothing went through pubsub: it has no subscriber to publish to
    for (const n of nodes) {
      expect(n.pubsub.published).to.have.lengthOf(0)
    }
  })

  it('a joining node that pubsub does not reach repeats its exchange an interval later, and learns the peers heard meanwhile', async () => {
    const [hub, joiner, later] = nodes = await Promise.all([createNode(), createNode(), createNode()])
    const id = (n: ExchangeNode): string => n.node.peerId.toString()

    // the hub knows nobody else yet: its answer carries no record
    await joiner.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => joiner.found.has(id(hub)) && hub.found.has(id(joiner)))
    await later.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => hub.found.has(id(later)))
    expect(joiner.found.has(id(later))).to.equal(false)

    // an interval (1 s) after its exchange, still without a subscriber
    await waitUntil(() => joiner.found.has(id(later)), 10_000)
  })

  it('a joining node that pubsub reaches repeats its exchange while the answers name peers it did not know, and stops at the first that names none (D2)', async () => {
    // 3 s: the later node is dialed and heard well within an interval
    const [hub, early, joiner, later] = nodes = await Promise.all([createNode({ interval: 3000 }), createNode({ interval: 3000 }), createNode({ interval: 3000 }), createNode({ interval: 3000 })])
    const id = (n: ExchangeNode): string => n.node.peerId.toString()
    // the joiner's pubsub knows a subscriber (the hub, say): it can publish
    // and be reached, though this one delivers nothing
    joiner.pubsub.subscribers = [hub.node.peerId]

    await early.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => hub.found.has(id(early)))

    // the first answer names the hub and the early node, both new
    await joiner.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => joiner.found.has(id(hub)) && joiner.found.has(id(early)))
    await later.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => hub.found.has(id(later)))
    expect(joiner.found.has(id(later))).to.equal(false)
    expect(joiner.discovery.getMetrics().exchangesOpened).to.equal(1)

    // an interval later it asks again and learns the later node
    await waitUntil(() => joiner.found.has(id(later)), 15_000)
    // that answer named a peer it did not know: one more, which names none
    await waitUntil(() => joiner.discovery.getMetrics().exchangesOpened === 3, 15_000)
    await new Promise(resolve => setTimeout(resolve, 7_000))
    expect(joiner.discovery.getMetrics().exchangesOpened).to.equal(3)
    expect(hub.discovery.getMetrics().exchangesAnswered).to.be.at.least(3)
  })

  it('a joining node that pubsub reaches asks the peer it dialed once more (its first answer named that peer), then no more: the second names nobody new (D2)', async () => {
    const [hub, joiner] = nodes = await Promise.all([createNode(), createNode()])
    joiner.pubsub.subscribers = [hub.node.peerId]

    await joiner.node.dial(hub.node.getMultiaddrs()[0])
    await waitUntil(() => joiner.discovery.getMetrics().exchangesOpened === 2, 10_000)
    await new Promise(resolve => setTimeout(resolve, 3_000))
    expect(joiner.discovery.getMetrics().exchangesOpened).to.equal(2)
    expect(hub.discovery.getMetrics().exchangesAnswered).to.equal(2)
  })

  it('a joining node that pubsub reaches asks again an interval after an exchange that went unanswered (D2)', async () => {
    const [joiner] = nodes = await Promise.all([createNode()])
    joiner.pubsub.subscribers = [joiner.node.peerId]
    // a peer that resets the first exchange and answers the second with
    // its own announcement
    const hub = await createBareNode(['/ip4/127.0.0.1/tcp/0'])
    let asked = 0
    await hub.handle(EXCHANGE_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      if (++asked === 1) {
        stream.abort(new Error('busy'))
        return
      }
      await lp.write(Peer.encode({
        publicKey: publicKeyToProtobuf(hub.peerId.publicKey!) as Uint8Array<ArrayBuffer>,
        addrs: hub.getMultiaddrs().map(ma => ma.decapsulateCode(421).bytes as Uint8Array<ArrayBuffer>),
        peerRecords: []
      }))
      await stream.close()
    })

    try {
      await joiner.node.dial(hub.getMultiaddrs()[0])
      await waitUntil(() => joiner.found.has(hub.peerId.toString()), 10_000)
      expect(asked).to.equal(2)
      expect(joiner.discovery.getMetrics().dropped['exchange-failed']).to.equal(1)
    } finally {
      await hub.stop()
    }
  })

  it('exchanges the gate refuses spend none of the answers (D4): a peer opening stream after stream cannot starve joiners', async () => {
    // a long interval: the node-wide answer budget does not refill, and the
    // joiner does not repeat its exchange, within the test
    const [hub, joiner] = nodes = await Promise.all([createNode({ interval: 60_000 }), createNode({ interval: 60_000 })])
    const hostile = await createBareNode()

    try {
      // one stream at a time on one connection, each with a frame that is
      // no announcement: the hub drops and resets each
      for (let i = 0; i < 64; i++) {
        const stream = await hostile.dialProtocol(hub.node.getMultiaddrs()[0], EXCHANGE_PROTOCOL)
        const lp = lpStream(stream)
        await lp.write(Uint8Array.from([0xff, 0xff, 0xff]))
        await expect(lp.read({ signal: AbortSignal.timeout(10_000) })).to.eventually.be.rejected()
      }
      // the first few as undecodable, the rest over the author's rate (R-limits)
      const { dropped } = hub.discovery.getMetrics()
      expect(dropped.undecodable + dropped['rate-limited']).to.equal(64)

      await joiner.node.dial(hub.node.getMultiaddrs()[0])
      await waitUntil(() => joiner.found.has(hub.node.peerId.toString()) || hub.discovery.getMetrics().dropped['over-budget'] > 0)
      expect(hub.discovery.getMetrics().dropped['over-budget']).to.equal(0)
      expect(joiner.found.has(hub.node.peerId.toString())).to.equal(true)
    } finally {
      await hostile.stop()
    }
  })

  it('an announcement the gate refuses (another key) is dropped, counted and not answered', async () => {
    const [hub] = nodes = await Promise.all([createNode()])
    const hostile = await createBareNode()

    try {
      const other = await generateKeyPair('Ed25519')
      const stream = await hostile.dialProtocol(hub.node.getMultiaddrs()[0], EXCHANGE_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(Peer.encode({
        publicKey: publicKeyToProtobuf(other.publicKey) as Uint8Array<ArrayBuffer>,
        addrs: [multiaddr('/ip4/93.184.216.34/tcp/4001').bytes as Uint8Array<ArrayBuffer>],
        peerRecords: []
      }))
      await expect(lp.read({ signal: AbortSignal.timeout(10_000) })).to.eventually.be.rejected()
      expect(hub.discovery.getMetrics().dropped.spoofed).to.equal(1)
      expect(hub.found.has(peerIdFromPrivateKey(other).toString())).to.equal(false)
      expect(hub.found.has(hostile.peerId.toString())).to.equal(false)
    } finally {
      await hostile.stop()
    }
  })
})
