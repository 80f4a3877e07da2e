import { generateKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { DEVELOPMENT_INBOUND_CONNECTIONS } from '../src/constants.ts'
import { connectivityPreset, PUBLIC_BOOTSTRAP_PEERS } from '../src/index.ts'
import type { PresetServices } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const tagsOf = (list: Array<(c: any) => unknown> | undefined): number => list?.length ?? 0

function transportTags (node: Libp2p): string[] {
  return (node as any).components.transportManager.getTransports().map((t: any) => t[Symbol.toStringTag]).sort()
}

function discoveryTags (node: Libp2p): string[] {
  const registry = (node as any).components.components
  return Object.keys(registry).filter(k => k.startsWith('peer-discovery-')).map(k => registry[k][Symbol.toStringTag]).sort()
}

function swarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

describe('connectivityPreset', () => {
  const nodes: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  async function start (options: any): Promise<Libp2p<PresetServices>> {
    const node = await createLibp2p<PresetServices>(options)
    nodes.push(node)
    return node
  }

  it('rejects unknown profiles and a private profile without a swarm key', () => {
    expect(() => connectivityPreset('mainframe' as any)).to.throw().with.property('name', 'UnknownProfileError')
    expect(() => connectivityPreset('private')).to.throw().with.property('name', 'MissingSwarmKeyError')
  })

  it('server: public bootstrap list by default, overridable; builds the documented stack with QUIC', async () => {
    expect(tagsOf(connectivityPreset('server').peerDiscovery)).to.equal(2)
    expect(tagsOf(connectivityPreset('server', { bootstrap: [] }).peerDiscovery)).to.equal(1)
    expect(PUBLIC_BOOTSTRAP_PEERS).to.have.length.greaterThan(3)
    expect(connectivityPreset('server').addresses?.listen).to.include('/ip4/0.0.0.0/udp/0/quic-v1')

    const node = await start(connectivityPreset('server', {
      bootstrap: [],
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/udp/0/webrtc-direct'] }
    }))
    expect(Object.keys(node.services).sort()).to.deep.equal(['autonat', 'autonatV2', 'connectivity', 'dcutr', 'dht', 'identify', 'ping', 'pubsub', 'relay'])
    expect(transportTags(node)).to.deep.equal(['@libp2p/circuit-relay-v2-transport', '@libp2p/tcp', '@libp2p/webrtc-direct', '@libp2p/websockets', 'quic'])
    expect(discoveryTags(node)).to.deep.equal(['@x/pubsub-peer-discovery'])
    const protocols = node.getMultiaddrs().map(ma => ma.getComponents().map(c => c.name).filter(n => n !== 'p2p' && n !== 'certhash').join('/'))
    expect(protocols.sort()).to.deep.equal(['ip4/tcp', 'ip4/tcp/ws', 'ip4/udp/quic-v1', 'ip4/udp/webrtc-direct'])
    // no /ipfs/kad/1.0.0 handler: kad-dht is a client until an address is verified
    expect(node.getProtocols()).to.include.members(['/libp2p/circuit/relay/0.2.0/hop', '/libp2p/dcutr', '/libp2p/autonat/1.0.0', '/libp2p/autonat/2/dial-request'])
    expect(node.services.connectivity.getDiscoverySources().map(s => s.mechanism)).to.include('pubsub')
  })

  it('server: kad-dht is left to decide its mode (a client until AutoNAT verifies a public address)', async () => {
    const node = await start(connectivityPreset('server', { bootstrap: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }))
    expect(node.services.dht?.getMode()).to.equal('client')
  })

  it('server: dials public addresses only', async () => {
    const gater = connectivityPreset('server').connectionGater
    for (const addr of ['/ip4/127.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1', '/ip4/192.168.1.1/udp/1/quic-v1', '/ip6/::1/tcp/1', '/ip6/fe80::1/tcp/1', '/ip4/10.0.0.1/tcp/1/p2p/12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH/p2p-circuit']) {
      expect(await gater?.denyDialMultiaddr?.(multiaddr(addr)), addr).to.be.true()
    }
    for (const addr of ['/ip4/1.2.3.4/tcp/1', '/ip6/2606:4700:4700::1111/tcp/1', '/dnsaddr/bootstrap.libp2p.io']) {
      expect(await gater?.denyDialMultiaddr?.(multiaddr(addr)), addr).to.be.false()
    }

    const target = await start(connectivityPreset('development', { peerDiscovery: [] }))
    const node = await start(connectivityPreset('server', { bootstrap: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }))
    const err = await node.dial(target.getMultiaddrs()[0], { signal: AbortSignal.timeout(5_000) }).catch((e: any) => e)
    expect(err).to.have.property('name', 'DialDeniedError')
  })

  it('browser: WebSockets, WebTransport, WebRTC and relay transports, no mDNS and no relay server; reserves on a relay', async () => {
    const options = connectivityPreset('browser')
    expect(options.addresses?.listen).to.deep.equal(['/p2p-circuit', '/webrtc'])
    expect(options.services).to.not.have.property('relay')
    expect(tagsOf(options.peerDiscovery)).to.equal(2)

    const relay = await start(connectivityPreset('development', { peerDiscovery: [] }))
    const node = await start(connectivityPreset('browser', { bootstrap: [] }))
    expect(transportTags(node)).to.deep.equal(['@libp2p/circuit-relay-v2-transport', '@libp2p/webrtc', '@libp2p/webrtc-direct', '@libp2p/websockets', '@libp2p/webtransport'])
    expect(discoveryTags(node)).to.deep.equal(['@x/pubsub-peer-discovery'])
    expect(Object.keys(node.services).sort()).to.deep.equal(['connectivity', 'dcutr', 'identify', 'ping', 'pubsub'])

    // on Node it reaches the relay over WebSockets and reserves a slot
    const ws = relay.getMultiaddrs().find(ma => ma.getComponents().some(c => c.name === 'ws'))
    const status = pEvent(node, 'connectivity:nat-status')
    await node.dial(ws!)
    const change: any = await status
    expect(change.detail).to.include({ status: 'private', previous: 'unknown' })
    expect(node.getMultiaddrs().some(ma => ma.getComponents().some(c => c.name === 'p2p-circuit'))).to.be.true()
    expect(node.services.connectivity.getMetrics().relay.reservations).to.deep.equal([relay.peerId.toString()])
  })

  it('private: only peers holding the same swarm key connect; mDNS and the LAN DHT are in', async () => {
    const key = swarmKey()
    const listen = { addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }
    const a = await start(connectivityPreset('private', { swarmKey: key, ...listen }))
    const b = await start(connectivityPreset('private', { swarmKey: key, ...listen }))
    const outsider = await start(connectivityPreset('private', { swarmKey: swarmKey(), ...listen }))

    expect(discoveryTags(a)).to.deep.equal(['@libp2p/mdns', '@x/pubsub-peer-discovery'])
    expect(Object.keys(a.services).sort()).to.deep.equal(['connectivity', 'dht', 'identify', 'ping', 'pubsub'])
    expect(a.getProtocols()).to.include('/x/private/kad/1.0.0')
    expect(tagsOf(connectivityPreset('private', { swarmKey: key }).peerDiscovery)).to.equal(2)
    expect(tagsOf(connectivityPreset('private', { swarmKey: key, bootstrap: ['/ip4/10.0.0.1/tcp/1/p2p/12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'] }).peerDiscovery)).to.equal(3)

    const conn = await b.dial(a.getMultiaddrs()[0])
    expect(conn.remotePeer.equals(a.peerId)).to.be.true()
    await expect(outsider.dial(a.getMultiaddrs()[0], { signal: AbortSignal.timeout(5_000) })).to.eventually.be.rejected()
  })

  it('development: loopback listeners, short intervals, the whole stack, QUIC between two nodes', async () => {
    const node = await start(connectivityPreset('development'))
    expect(node.getMultiaddrs().every(ma => ma.toString().startsWith('/ip4/127.0.0.1/'))).to.be.true()
    expect(discoveryTags(node)).to.deep.equal(['@libp2p/mdns', '@x/pubsub-peer-discovery'])
    expect(Object.keys(node.services).sort()).to.deep.equal(['autonat', 'connectivity', 'dcutr', 'dht', 'identify', 'ping', 'pubsub', 'relay'])
    expect(node.services.connectivity.getDiscoverySources().map(s => s.mechanism).sort()).to.deep.equal(['dht', 'mdns', 'pubsub'])

    const other = await start(connectivityPreset('development', { peerDiscovery: [] }))
    const quicAddr = other.getMultiaddrs().find(ma => ma.getComponents().some(c => c.name === 'quic-v1'))
    expect(quicAddr, 'a QUIC listener').to.exist()
    const conn = await node.dial(quicAddr!, { signal: AbortSignal.timeout(10_000) })
    expect(conn.remoteAddr.toString()).to.include('/quic-v1')
    const rtt = await node.services.ping.ping(quicAddr!, { signal: AbortSignal.timeout(10_000) })
    expect(rtt).to.be.a('number')
  })

  it('development: accepts a local swarm\'s burst of connections from loopback (libp2p resets more than 5 per second per host)', async () => {
    const listener = await start(connectivityPreset('development', { peerDiscovery: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }))
    const dialer = await start(connectivityPreset('development', { peerDiscovery: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }))
    const refused: string[] = []

    // one after another, as a connection pool dials (libp2p merges concurrent dials to a peer)
    for (let i = 0; i < 15; i++) {
      await dialer.dial(listener.getMultiaddrs()[0], { force: true, signal: AbortSignal.timeout(20_000) })
        .catch(err => { refused.push(`dial ${i + 1}: ${err.message}`) })
    }

    expect(refused, refused.join('\n')).to.deep.equal([])
    expect(dialer.getConnections(listener.peerId)).to.have.lengthOf(15)
  })

  it('merges overrides: replaces plain fields, adds and removes services', async () => {
    const options = connectivityPreset('development', { services: { relay: undefined, extra: () => ({}) } as any, addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
    expect(options.services).to.not.have.property('relay')
    expect(options.services).to.have.property('extra')
    expect(options.addresses).to.deep.equal({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  it('merges connectionManager field by field: a development override keeps the loopback limits it does not name', () => {
    const options = connectivityPreset('development', { connectionManager: { maxConnections: 7 } })
    expect(options.connectionManager).to.deep.equal({ inboundConnectionThreshold: DEVELOPMENT_INBOUND_CONNECTIONS, maxIncomingPendingConnections: DEVELOPMENT_INBOUND_CONNECTIONS, maxConnections: 7 })

    // a field set to undefined falls back to libp2p's default, as a service set to undefined is dropped
    const restored = connectivityPreset('development', { connectionManager: { inboundConnectionThreshold: undefined } })
    expect(restored.connectionManager).to.deep.equal({ inboundConnectionThreshold: undefined, maxIncomingPendingConnections: DEVELOPMENT_INBOUND_CONNECTIONS })

    // profiles without connection manager options get the override as given, or nothing
    expect(connectivityPreset('server', { connectionManager: { maxConnections: 7 } }).connectionManager).to.deep.equal({ maxConnections: 7 })
    expect(connectivityPreset('server')).to.not.have.property('connectionManager')
  })
})
