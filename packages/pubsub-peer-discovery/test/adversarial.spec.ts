/**
 * A scripted hostile gossipsub peer against real nodes (PROTOCOL.md,
 * "Hostile peers"): H is connected to B only; C is connected to B only, so
 * whatever reaches C from H went through B's gossipsub and its topic
 * validator. H sends junk, forged, flooded, replayed and address-planting
 * traffic; B drops it (and does not forward it), C never sees it.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { tcp } from '@libp2p/tcp'
import { RecordType } from '@multiformats/dns'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays/from-string'
import { publicAddressesOnly, TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { createTestNode, waitUntil } from './fixtures/nodes.ts'
import type { TestNode } from './fixtures/nodes.ts'
import type { Message } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { DNS } from '@multiformats/dns'

const INTERVAL = 1000

async function hostileNode (): Promise<Libp2p<{ pubsub: any }>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } })
    }
  }) as any
}

/** H's announcement of itself with `addrs` (and relayed `records`) */
function announcement (h: Libp2p, addrs: string[], records: Array<Uint8Array<ArrayBuffer>> = []): Uint8Array {
  return Peer.encode({
    publicKey: publicKeyToProtobuf(h.peerId.publicKey!) as Uint8Array<ArrayBuffer>,
    addrs: addrs.map(a => multiaddr(a).bytes as Uint8Array<ArrayBuffer>),
    peerRecords: records
  })
}

/** Sends a message another peer signed, unchanged, straight to `to` (below gossipsub's publish) */
function replay (h: Libp2p<{ pubsub: any }>, to: Libp2p, msg: Message): boolean {
  if (msg.type !== 'signed') {
    throw new Error('only signed messages carry a seqno')
  }

  const seqno = new Uint8Array(8)
  new DataView(seqno.buffer).setBigUint64(0, msg.sequenceNumber, false)

  return h.services.pubsub.sendRpc(to.peerId.toString(), {
    subscriptions: [],
    messages: [{ from: msg.from.toMultihash().bytes, data: msg.data, seqno, topic: msg.topic, signature: msg.signature, key: undefined }]
  })
}

/**
 * Sends `data` on our topic straight to `to` as a gossipsub message of
 * `author`, signed by its key as gossipsub does ("libp2p-pubsub:" and the
 * protobuf of the message without signature and key), so `to`'s gossipsub
 * verifies it and hands it to our validator as `author`'s
 */
async function sendAs (h: Libp2p<{ pubsub: any }>, to: Libp2p, author: PrivateKey, data: Uint8Array, seqno: bigint): Promise<boolean> {
  const { RPC } = await import('@libp2p/gossipsub/message')
  const seq = new Uint8Array(8)
  new DataView(seq.buffer).setBigUint64(0, seqno, false)
  const message = { from: peerIdFromPrivateKey(author).toMultihash().bytes, data, seqno: seq, topic: TOPIC }
  const signature = await author.sign(concat([fromString('libp2p-pubsub:'), RPC.Message.encode(message)]))
  return h.services.pubsub.sendRpc(to.peerId.toString(), { subscriptions: [], messages: [{ ...message, signature, key: undefined }] })
}

/** An announcement of `key`'s peer with `addrs` */
function announcementOf (key: PrivateKey, addrs: string[]): Uint8Array {
  return Peer.encode({
    publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
    addrs: addrs.map(a => multiaddr(a).bytes as Uint8Array<ArrayBuffer>),
    peerRecords: []
  })
}

describe('adversarial: a scripted hostile gossipsub peer against real nodes', function () {
  this.timeout(60_000)
  let h: Libp2p<{ pubsub: any }>
  let b: TestNode
  let c: TestNode
  /** Messages C's gossipsub delivered from H */
  let fromH: Message[]

  beforeEach(async () => {
    h = await hostileNode()
    // B forgets message ids after 1.5 s (gossipsub's default: 2 minutes), so replays reach its validator
    b = await createTestNode('ours', { interval: INTERVAL }, { seenTTL: 1500 })
    c = await createTestNode('ours', { interval: INTERVAL })
    await h.start()
    h.services.pubsub.subscribe(TOPIC)
    await h.dial(b.node.getMultiaddrs()[0])
    await c.node.dial(b.node.getMultiaddrs()[0])
    fromH = []
    c.node.services.gossip.addEventListener('message', (evt: CustomEvent<Message>) => {
      if (evt.detail.type === 'signed' && evt.detail.from.equals(h.peerId)) {
        fromH.push(evt.detail)
      }
    })
    // B and C know each other (the direct exchange teaches them that before
    // gossipsub is ready, so it does not show that the topic works)
    await waitUntil(() => b.found.has(c.node.peerId.toString()) && c.found.has(b.node.peerId.toString()))
    // the topic works through B: H and C are in B's mesh and B in theirs
    // (a GRAFT went each way, over the outbound streams a publish needs), so
    // one message H publishes reaches B, and one B accepts reaches C
    const bId = b.node.peerId.toString()
    await waitUntil(() => {
      const bMesh = b.node.services.gossip.getMeshPeers(TOPIC)
      return bMesh.includes(h.peerId.toString()) && bMesh.includes(c.node.peerId.toString()) &&
        h.services.pubsub.getMeshPeers(TOPIC).includes(bId) && c.node.services.gossip.getMeshPeers(TOPIC).includes(bId)
    })
  })

  afterEach(async () => {
    await Promise.all([h?.stop(), b?.node.stop(), c?.node.stop()])
  })

  it('junk and forged announcements are rejected by B and never reach C', async () => {
    const victim = await generateKeyPair('Ed25519')
    const forged = Peer.encode({ publicKey: publicKeyToProtobuf(victim.publicKey) as Uint8Array<ArrayBuffer>, addrs: [multiaddr('/ip4/93.184.216.34/tcp/1').bytes as Uint8Array<ArrayBuffer>], peerRecords: [] })

    for (const data of [crypto.getRandomValues(new Uint8Array(100)), new Uint8Array(20_000), forged, new Uint8Array([10, 3, 1, 2, 3])]) {
      await h.services.pubsub.publish(TOPIC, data)
    }

    await waitUntil(() => {
      const { dropped } = b.discovery!.getMetrics()
      return dropped.undecodable + dropped.oversized + dropped.spoofed + dropped['invalid-key'] >= 4
    })
    expect(b.discovery!.getMetrics().dropped.spoofed).to.equal(1)
    expect(b.found.has(peerIdFromPrivateKey(victim).toString())).to.be.false()
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(fromH).to.have.lengthOf(0)
    expect(Object.values(c.discovery!.getMetrics().dropped).reduce((x, y) => x + y, 0)).to.equal(0)
  })

  it('a flood is cut at the per-author rate by B and never reaches C beyond it', async () => {
    const data = announcement(h, ['/ip4/93.184.216.34/tcp/4001'])

    for (let i = 0; i < 40; i++) {
      await h.services.pubsub.publish(TOPIC, data)
    }

    await waitUntil(() => b.discovery!.getMetrics().dropped['rate-limited'] >= 30)
    await new Promise(resolve => setTimeout(resolve, 500))
    // the default rate limit: 4 per interval (a few more as the bucket refills during the burst)
    expect(fromH.length).to.be.within(1, 6)
    expect(c.found.has(h.peerId.toString())).to.be.true()
  })

  it('a replay of an honest peer\'s old announcement is ignored by B (gossipsub forgot it) and never reaches C', async () => {
    const captured: Message[] = []
    h.services.pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
      if (evt.detail.type === 'signed' && evt.detail.from.equals(c.node.peerId)) {
        captured.push(evt.detail)
      }
    })
    await waitUntil(() => captured.length >= 2)
    const old = captured[0]
    // B's seen cache forgot it
    await new Promise(resolve => setTimeout(resolve, 2000))
    const cBefore = c.discovery!.getMetrics().dropped.self

    expect(replay(h, b.node, old)).to.be.true()
    await waitUntil(() => b.discovery!.getMetrics().dropped.replayed >= 1)
    await new Promise(resolve => setTimeout(resolve, 300))
    // not forwarded: C would have dropped its own announcement as `self`
    expect(c.discovery!.getMetrics().dropped.self).to.equal(cBefore)
    expect(b.discovery!.getMetrics().dropped['rate-limited']).to.equal(0)
  })

  it('planted addresses are filtered and relayed records from a peer not connected to C teach C nothing', async () => {
    const invented = await generateKeyPair('Ed25519')
    const inventedId = peerIdFromPrivateKey(invented)
    const record = (await RecordEnvelope.seal(new PeerRecord({ peerId: inventedId, multiaddrs: [multiaddr('/ip4/93.184.216.35/tcp/1')] }), invented)).marshal() as Uint8Array<ArrayBuffer>

    await h.services.pubsub.publish(TOPIC, announcement(h, ['/ip4/0.0.0.0/tcp/1', '/ip4/169.254.1.1/tcp/1', '/ip4/224.0.0.251/udp/5353', '/ip6/fe80::1/tcp/1', '/ip4/93.184.216.34/tcp/4001'], [record]))

    await waitUntil(() => b.found.has(h.peerId.toString()) && c.found.has(h.peerId.toString()))
    expect(b.found.get(h.peerId.toString())?.multiaddrs.map(String)).to.deep.equal(['/ip4/93.184.216.34/tcp/4001'])
    expect(c.found.get(h.peerId.toString())?.multiaddrs.map(String)).to.deep.equal(['/ip4/93.184.216.34/tcp/4001'])
    await waitUntil(() => c.discovery!.getMetrics().dropped['relay-not-connected'] >= 1)
    expect(c.found.has(inventedId.toString())).to.be.false()
  })

  it('a flood of validly signed announcements from fresh keys costs a node at most its new-peer budget per interval', async () => {
    // a long interval: the budget barely refills while the flood runs
    const interval = 60_000
    const budget = 20
    const d = await createTestNode('ours', { interval, maxNewPeersPerInterval: budget })

    try {
      await h.dial(d.node.getMultiaddrs()[0])
      await waitUntil(() => h.services.pubsub.getSubscribers(TOPIC).some((p: any) => p.equals(d.node.peerId)))
      const started = Date.now()
      const fresh = await Promise.all(Array.from({ length: 200 }, async () => generateKeyPair('Ed25519')))

      for (const key of fresh) {
        expect(await sendAs(h, d.node, key, announcementOf(key, ['/ip4/93.184.216.34/tcp/4001']), 1n)).to.be.true()
      }

      // H also forwards B's and C's announcements to D: they are new
      // peers to D too, and take from the same budget
      const freshIds = new Set(fresh.map(key => peerIdFromPrivateKey(key).toString()))
      const learnedFresh = (): number => [...d.found.keys()].filter(id => freshIds.has(id)).length
      await waitUntil(() => d.discovery!.getMetrics().dropped['over-budget'] + learnedFresh() >= fresh.length, 30_000)
      const elapsed = Date.now() - started
      const learned = learnedFresh()
      const others = d.found.size - learned

      expect(learned).to.be.at.most(budget + Math.ceil(budget * elapsed / interval))
      expect(learned + others).to.be.at.least(budget)
      expect(d.discovery!.getMetrics().dropped['over-budget']).to.be.at.least(fresh.length - learned)
    } finally {
      await d.node.stop()
    }
  })

  it('a flood of fresh keys at the new-peer budget does not silence a peer connected to the node', async () => {
    // a long interval: the new-peer budget does not refill while the test runs
    const interval = 600_000
    const d = await createTestNode('ours', { interval, maxNewPeersPerInterval: 20 })
    let e: TestNode | undefined

    try {
      await h.dial(d.node.getMultiaddrs()[0])
      await waitUntil(() => h.services.pubsub.getSubscribers(TOPIC).some((p: any) => p.equals(d.node.peerId)))
      const fresh = await Promise.all(Array.from({ length: 60 }, async () => generateKeyPair('Ed25519')))

      for (const key of fresh) {
        await sendAs(h, d.node, key, announcementOf(key, ['/ip4/93.184.216.34/tcp/4001']), 1n)
      }

      // the budget is spent
      await waitUntil(() => d.discovery!.getMetrics().dropped['over-budget'] >= 20)

      // a newcomer that connects to D: established at once, admitted from its own allowance
      e = await createTestNode('ours', { interval })
      await e.node.dial(d.node.getMultiaddrs()[0])
      await waitUntil(() => d.found.has(e!.node.peerId.toString()), 20_000)
    } finally {
      await Promise.all([d.node.stop(), e?.node.stop()])
    }
  })

  it('a DNS name pointing at a private address is dropped; a public one is kept as the address it resolved to (injected resolver, never real DNS)', async () => {
    const asked: string[] = []
    const dns: DNS = {
      query: async (name: string) => {
        asked.push(name)
        const data = name === 'inside.test' ? '127.0.0.1' : '93.184.216.36'
        return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer: [{ name, type: RecordType.A, TTL: 60, data }] }
      }
    }
    // a node that must never dial private addresses
    const d = await createTestNode('ours', { incomingAddressFilter: publicAddressesOnly }, {}, { dns })

    try {
      await h.dial(d.node.getMultiaddrs()[0])
      await waitUntil(() => h.services.pubsub.getSubscribers(TOPIC).some((p: any) => p.equals(d.node.peerId)))
      await h.services.pubsub.publish(TOPIC, announcement(h, ['/dns4/inside.test/tcp/1', '/dns4/outside.test/tcp/2', '/ip4/93.184.216.34/tcp/4001']))

      await waitUntil(() => d.found.has(h.peerId.toString()))
      // the public name is emitted as the address it was judged by (pinned: no DNS rebinding at dial time)
      expect(d.found.get(h.peerId.toString())?.multiaddrs.map(String)).to.deep.equal(['/ip4/93.184.216.36/tcp/2', '/ip4/93.184.216.34/tcp/4001'])
      expect(asked).to.have.members(['inside.test', 'outside.test'])
      const stored = (await d.node.peerStore.get(h.peerId)).addresses.map(a => a.multiaddr.toString())
      expect(stored).to.not.include('/dns4/inside.test/tcp/1')
      expect(stored).to.not.include('/dns4/outside.test/tcp/2')
    } finally {
      await d.node.stop()
    }
  })
})
