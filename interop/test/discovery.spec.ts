/**
 * @x/pubsub-peer-discovery against go-libp2p-pubsub: the go peer's
 * announcements in the same wire format are discovered by js, and the go
 * peer decodes the js node's announcements.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC, pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, requireOrSkip, startGoPeer, tcpAddr, waitFor } from '../src/index.ts'
import type { GoPeer } from '../src/index.ts'
import type { Libp2p, PeerInfo } from '@libp2p/interface'
import type { PubSubPeerDiscovery } from '@x/pubsub-peer-discovery'

describe('interop: @x/pubsub-peer-discovery with go-libp2p-pubsub', function () {
  this.timeout(90_000)
  let go: GoPeer
  let js: Libp2p<any>
  let discovery: PubSubPeerDiscovery
  const found: PeerInfo[] = []

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  beforeEach(async () => {
    found.length = 0
    go = await startGoPeer({ name: 'go-discovery', args: ['-topics', TOPIC] })
    js = await createJsNode({
      overrides: {
        connectionMonitor: { enabled: false },
        services: {
          gossip: gossipsub({ emitSelf: false }),
          discovery: pubsubPeerDiscovery({ interval: 1_000, announceDebounce: 100 })
        } as any
      }
    })
    discovery = js.services.discovery as PubSubPeerDiscovery
    discovery.addEventListener('peer', (evt) => { found.push(evt.detail) })
    await js.start()
    await js.dial(multiaddr(tcpAddr(go.addrs)))
  })

  afterEach(async () => {
    await js?.stop()
    await go?.stop()
  })

  it('discovers the go peer from its announcement', async () => {
    const announced = ['/ip4/127.0.0.1/tcp/4321', '/ip4/192.0.2.7/udp/4321/quic-v1']

    const info = await waitFor(async () => {
      // publish until the gossipsub mesh carries it
      await go.command('announce', { addrs: announced })
      return found.find(p => p.id.toString() === go.peerId)
    }, 20_000, 500)

    expect(info.multiaddrs.map(ma => ma.toString())).to.deep.equal(announced)
    expect(discovery.getMetrics().dropped.spoofed).to.equal(0)
  })

  it('the go peer decodes the js announcements', async () => {
    const event = await go.waitFor('discovery', e => e.peerId === js.peerId.toString(), 20_000)

    expect(event.valid).to.be.true()
    expect(event.from).to.equal(js.peerId.toString())
    const jsAddrs = js.getMultiaddrs().map(ma => ma.toString().split('/p2p/')[0])
    expect(event.addrs.map((a: string) => a.split('/p2p/')[0])).to.have.members(jsAddrs)
  })
})
