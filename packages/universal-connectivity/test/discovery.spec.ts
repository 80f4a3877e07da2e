import { peerDiscoverySymbol } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { FakeDiscovery, peerId, stubComponents } from './fixtures/stubs.ts'
import type { PeerDiscoveredEvent } from '@x/interface'

describe('discovery accounting', () => {
  it('attributes each module by its tag and records every mechanism that found a peer', async () => {
    const mdns = new FakeDiscovery('@libp2p/mdns')
    const bootstrap = new FakeDiscovery('@libp2p/bootstrap')
    const pubsub = new FakeDiscovery('@x/pubsub-peer-discovery')
    const dht = new FakeDiscovery('@libp2p/kad-dht')
    const stubs = await stubComponents({
      'peer-discovery-0': mdns,
      'peer-discovery-1': bootstrap,
      pubsubDiscovery: Object.assign(pubsub, { [peerDiscoverySymbol]: true }),
      dht: { [peerDiscoverySymbol]: dht, [Symbol.toStringTag]: '@libp2p/kad-dht' },
      notDiscovery: new FakeDiscovery('@libp2p/ping')
    })
    const callbacks: PeerDiscoveredEvent[] = []
    const events: PeerDiscoveredEvent[] = []
    stubs.events.addEventListener('connectivity:peer-discovered', (evt) => { events.push(evt.detail) })
    const service = new UniversalConnectivity(stubs.components, { onPeerDiscovered: (evt) => { callbacks.push(evt) } })
    await service.start()
    await service.afterStart()

    expect(service.getDiscoverySources().map(s => s.mechanism).sort()).to.deep.equal(['bootstrap', 'dht', 'mdns', 'pubsub'])

    const a = await peerId()
    const b = await peerId()
    bootstrap.emitPeer(a, ['/ip4/10.0.0.2/tcp/1'])
    mdns.emitPeer(a)
    mdns.emitPeer(a)
    pubsub.emitPeer(b)
    dht.emitPeer(b)

    const peers = service.getDiscoveredPeers()
    const pa = peers.find(p => p.id.equals(a))
    const pb = peers.find(p => p.id.equals(b))
    expect(pa?.mechanisms).to.deep.equal(['bootstrap', 'mdns'])
    expect(pa?.counts).to.deep.equal({ bootstrap: 1, mdns: 2 })
    expect(pa?.multiaddrs.map(String)).to.deep.equal(['/ip4/10.0.0.2/tcp/1'])
    expect(pb?.mechanisms).to.deep.equal(['pubsub', 'dht'])

    // one report per new (peer, mechanism); repeats are only counted
    expect(callbacks.map(e => `${e.mechanism}:${e.firstSeen}`)).to.deep.equal(['bootstrap:true', 'mdns:false', 'pubsub:true', 'dht:false'])
    expect(events).to.have.lengthOf(4)

    const metrics = service.getMetrics()
    expect(metrics.discovery).to.deep.equal({ peers: 2, byMechanism: { mdns: 1, bootstrap: 1, pubsub: 1, dht: 1, other: 0 }, events: 5 })

    await service.stop()
    mdns.emitPeer(await peerId())
    expect(service.getDiscoveredPeers()).to.have.lengthOf(2)
  })

  it('records peer:discovery of a peer no module reported as other', async () => {
    const mdns = new FakeDiscovery('@libp2p/mdns')
    const stubs = await stubComponents({ 'peer-discovery-0': mdns })
    const service = new UniversalConnectivity(stubs.components)
    await service.start()
    await service.afterStart()
    const a = await peerId()
    const b = await peerId()

    mdns.emitPeer(a)
    // libp2p dispatches peer:discovery after merging a new peer into the peer store
    stubs.events.safeDispatchEvent('peer:discovery', { detail: { id: a, multiaddrs: [] } })
    stubs.events.safeDispatchEvent('peer:discovery', { detail: { id: b, multiaddrs: [] } })

    expect(service.getDiscoveredPeers().map(p => [p.id.toString(), p.mechanisms])).to.deep.equal([
      [a.toString(), ['mdns']],
      [b.toString(), ['other']]
    ])
    await service.stop()
  })

  it('attributes unknown modules through init.mechanisms, and ignores our own id', async () => {
    const custom = new FakeDiscovery('my-lan-scanner')
    const stubs = await stubComponents({ 'peer-discovery-0': custom })
    const service = new UniversalConnectivity(stubs.components, { mechanisms: { 'my-lan-scanner': 'mdns' } })
    await service.start()
    await service.afterStart()
    custom.emitPeer(stubs.components.peerId)
    const a = await peerId()
    custom.emitPeer(a)
    expect(service.getDiscoveredPeers().map(p => p.mechanisms)).to.deep.equal([['mdns']])
    await service.stop()
  })

  it('forgets the least recently seen peer beyond maxPeers', async () => {
    const mdns = new FakeDiscovery('@libp2p/mdns')
    const stubs = await stubComponents({ 'peer-discovery-0': mdns })
    const service = new UniversalConnectivity(stubs.components, { maxPeers: 2 })
    await service.start()
    await service.afterStart()
    const [a, b, c] = [await peerId(), await peerId(), await peerId()]
    mdns.emitPeer(a)
    mdns.emitPeer(b)
    mdns.emitPeer(a) // a is now the most recent
    mdns.emitPeer(c)
    expect(service.getDiscoveredPeers().map(p => p.id.toString()).sort()).to.deep.equal([a.toString(), c.toString()].sort())
    await service.stop()
  })
})
