import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { connectivityPreset } from '../src/index.ts'
import type { PresetServices } from '../src/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { PeerDiscoveredEvent } from '@x/interface'

async function until <T> (fn: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = fn()
    if (value != null) { return value }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('discovery accounting with real nodes on loopback', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  it('attributes bootstrap, mDNS and pubsub discovery, with callbacks and events', async () => {
    const b = await createLibp2p<PresetServices>(connectivityPreset('development'))
    nodes.push(b)
    const callbacks: PeerDiscoveredEvent[] = []
    const a = await createLibp2p<PresetServices>(connectivityPreset('development', {
      bootstrap: [b.getMultiaddrs()[0].toString()],
      connectivity: { onPeerDiscovered: (evt) => { callbacks.push(evt) } }
    }))
    nodes.push(a)
    const events: PeerDiscoveredEvent[] = []
    a.addEventListener('connectivity:peer-discovered', (evt) => { events.push(evt.detail) })
    // c has neither mDNS nor bootstrap: a can only learn of it through pubsub (via b)
    const c = await createLibp2p<PresetServices>(connectivityPreset('development', { peerDiscovery: [pubsubPeerDiscovery({ interval: 1_000 })] }))
    nodes.push(c)
    await c.dial(b.getMultiaddrs()[0])

    const mechanismsOf = (peer: PeerId): string[] | undefined => a.services.connectivity.getDiscoveredPeers().find(p => p.id.equals(peer))?.mechanisms

    await until(() => mechanismsOf(b.peerId)?.includes('bootstrap') === true && mechanismsOf(b.peerId)?.includes('mdns') === true ? true : undefined, 30_000, 'b found by bootstrap and mDNS')
    await until(() => mechanismsOf(c.peerId)?.includes('pubsub') === true ? true : undefined, 30_000, 'c found by pubsub')

    expect(mechanismsOf(c.peerId)).to.not.include('mdns')
    expect(mechanismsOf(c.peerId)).to.not.include('bootstrap')
    const names = new Map([[b.peerId.toString(), 'b'], [c.peerId.toString(), 'c']])
    const seen = callbacks.map(e => `${names.get(e.peer.toString()) ?? '?'}:${e.mechanism}`)
    expect(seen).to.include.members(['b:bootstrap', 'b:mdns', 'c:pubsub'])
    expect(events.length).to.equal(callbacks.length)
    const metrics = a.services.connectivity.getMetrics()
    expect(metrics.discovery.byMechanism.bootstrap).to.be.at.least(1)
    expect(metrics.discovery.byMechanism.mdns).to.be.at.least(1)
    expect(metrics.discovery.byMechanism.pubsub).to.be.at.least(1)
    expect(metrics.connections.established).to.be.at.least(1)
    expect(metrics.last_updated).to.be.a('number')
  })
})
