import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { createTestNode, knowsAll, star, waitUntil } from './fixtures/nodes.ts'
import type { TestNode } from './fixtures/nodes.ts'

describe('pubsub peer discovery with real gossipsub nodes', function () {
  this.timeout(60_000)
  let nodes: TestNode[] = []

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.node.stop()))
    nodes = []
  })

  it('5 nodes discover each other', async () => {
    for (let i = 0; i < 5; i++) { nodes.push(await createTestNode('ours')) }
    await star(nodes)

    await waitUntil(() => nodes.every(n => knowsAll(nodes, n)))
    for (const n of nodes) {
      expect(n.found.has(n.node.peerId.toString()), 'never itself').to.be.false()
      const info = [...n.found.values()][0]
      expect(info.multiaddrs.length).to.be.greaterThan(0)
    }
  })

  it('official nodes and ours discover each other both ways', async () => {
    nodes.push(await createTestNode('ours'), await createTestNode('official'), await createTestNode('ours'), await createTestNode('official'))
    await star(nodes)

    await waitUntil(() => nodes.every(n => knowsAll(nodes, n)))
  })

  it('a listenOnly node discovers peers and announces nothing', async () => {
    nodes.push(await createTestNode('ours'), await createTestNode('ours'), await createTestNode('ours', { listenOnly: true }))
    await star(nodes)
    const listener = nodes[2]

    await waitUntil(() => knowsAll(nodes, listener))
    expect(listener.discovery?.getMetrics().announced).to.equal(0)
    // and nobody heard of it through discovery
    await new Promise(resolve => setTimeout(resolve, 1500))
    expect(nodes[1].found.has(listener.node.peerId.toString())).to.be.false()
  })

  it('drops a spoofed announcement (published by A, announcing B) and counts it', async () => {
    nodes.push(await createTestNode('ours'), await createTestNode('official', { interval: 60_000 }))
    await star(nodes)
    const [receiver, attacker] = nodes
    const victimKey = await generateKeyPair('Ed25519')
    const forged = Peer.encode({
      publicKey: publicKeyToProtobuf(victimKey.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: [multiaddr('/ip4/6.6.6.6/tcp/666').bytes as Uint8Array<ArrayBuffer>]
    })

    await waitUntil(() => attacker.node.services.pubsub.getSubscribers(TOPIC).length > 0)
    await attacker.node.services.pubsub.publish(TOPIC, forged)

    await waitUntil(() => (receiver.discovery?.getMetrics().dropped.spoofed ?? 0) >= 1)
    expect([...receiver.found.values()].some(p => p.multiaddrs.some(ma => ma.toString().includes('6.6.6.6')))).to.be.false()
  })

  it('counts fuzzed payloads over gossipsub without throwing', async () => {
    nodes.push(await createTestNode('ours'), await createTestNode('official', { interval: 60_000 }))
    await star(nodes)
    const [receiver, sender] = nodes
    await waitUntil(() => sender.node.services.pubsub.getSubscribers(TOPIC).length > 0)

    const senderKey = publicKeyToProtobuf(sender.node.peerId.publicKey!) as Uint8Array<ArrayBuffer>
    const payloads = [
      crypto.getRandomValues(new Uint8Array(64)),
      Peer.encode({ publicKey: senderKey, addrs: [] }).subarray(0, 10),
      new Uint8Array(20_000),
      Peer.encode({ publicKey: new Uint8Array([8, 1, 18, 3, 1, 2, 3]), addrs: [] }),
      Peer.encode({ publicKey: senderKey, addrs: Array.from({ length: 100 }, () => multiaddr('/ip4/1.1.1.1/tcp/1').bytes as Uint8Array<ArrayBuffer>) })
    ]
    for (const payload of payloads) {
      await sender.node.services.pubsub.publish(TOPIC, payload)
    }

    // rate limit 4 per interval: all five are counted, one way or another
    await waitUntil(() => {
      const m = receiver.discovery?.getMetrics()
      return m != null && m.received >= 5
    })
    const { dropped, accepted } = receiver.discovery!.getMetrics()
    expect(accepted).to.equal(0)
    expect(Object.values(dropped).reduce((a, b) => a + b, 0)).to.be.at.least(5)
    expect(receiver.node.status).to.equal('started')
  })

  it('announces an address change within the debounce time', async () => {
    nodes.push(await createTestNode('ours', { interval: 60_000, announceDebounce: 200 }), await createTestNode('ours', { interval: 60_000, announceDebounce: 200 }))
    await star(nodes)
    await waitUntil(() => nodes.every(n => knowsAll(nodes, n)))
    const [watcher, mover] = nodes

    const before = new Set(mover.node.getMultiaddrs().map(ma => ma.toString().split('/p2p/')[0]))
    const changed = new Promise<number>(resolve => {
      watcher.discovery!.addEventListener('peer', (evt) => {
        if (evt.detail.id.equals(mover.node.peerId) && evt.detail.multiaddrs.some(ma => !before.has(ma.toString().split('/p2p/')[0]))) {
          resolve(Date.now())
        }
      })
    })
    // a new listener is a new address of ours, as a relay reservation would be
    const started = Date.now()
    await (mover.node as any).components.transportManager.listen([multiaddr('/ip4/127.0.0.1/tcp/0')])

    const at = await changed
    // debounce + gossip on loopback; far below the 60 s interval
    expect(at - started).to.be.below(2_000)
  })
})
