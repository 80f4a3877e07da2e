/**
 * The server profile's gater: what a peer can make a server dial. Names are
 * judged by what they resolve to (the TCP and WebSockets transports resolve
 * `/dns4`, `/dns6` and `/dns` themselves, after the gater), Unix sockets
 * are local by definition, and IPv6 must be global unicast.
 */
import { lookup } from 'node:dns/promises'
import { hostname } from 'node:os'
import { isPrivateIp } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { connectivityPreset, publicDialsOnly } from '../src/index.ts'
import type { PresetServices } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const R = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'
const T = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

/** A resolver stand-in: each name's addresses, or a failure */
const names: Record<string, string[]> = {
  'internal.example': ['10.1.2.3'],
  'ula.example': ['fd00::1'],
  'mixed.example': ['1.2.3.4', '127.0.0.1'],
  'public.example': ['1.2.3.4', '2606:4700:4700::1111'],
  'empty.example': []
}
const fakeLookup = async (host: string): Promise<string[]> => {
  const found = names[host]
  if (found == null) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  }
  return found
}

describe('publicDialsOnly', () => {
  const nodes: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  it('denies names that are or resolve to private, loopback or link-local addresses, and names that do not resolve', async () => {
    const gater = publicDialsOnly({ lookup: fakeLookup })

    for (const addr of ['/dns4/LOCALHOST/tcp/1', '/dns4/foo.localhost/tcp/1', '/dns/localhost./tcp/1', '/dns4/internal.example/tcp/1', '/dns6/ula.example/tcp/1/ws', '/dns/mixed.example/tcp/443/wss', '/dns4/empty.example/tcp/1', '/dns4/nowhere.example/tcp/1']) {
      expect(await gater.denyDialMultiaddr?.(multiaddr(addr)), addr).to.be.true()
    }

    expect(await gater.denyDialMultiaddr?.(multiaddr('/dns/public.example/tcp/443/wss')), '/dns/public.example').to.be.false()
  })

  it('denies Unix sockets, IPv4 multicast and IPv6 outside global unicast, judging embedded IPv4 by itself', async () => {
    const gater = publicDialsOnly({ lookup: fakeLookup })

    for (const addr of ['/unix/%2Fvar%2Frun%2Fdocker.sock', '/ip4/224.0.0.251/udp/5353/quic-v1', '/ip4/239.255.255.250/udp/1900/quic-v1', '/ip6/64:ff9b::10.0.0.1/tcp/1', '/ip6/::127.0.0.1/tcp/1', '/ip6/fec0::1/tcp/1', '/ip6/::ffff:127.0.0.1/tcp/1', '/ip6/::ffff:10.0.0.1/tcp/1', '/ip6/fd12:3456::1/udp/1/quic-v1', '/ip6zone/eth0/ip6/fe80::1/tcp/1']) {
      expect(await gater.denyDialMultiaddr?.(multiaddr(addr)), addr).to.be.true()
    }

    for (const addr of ['/ip4/1.2.3.4/tcp/1', '/ip6/2606:4700:4700::1111/tcp/1', '/ip6/::ffff:8.8.8.8/tcp/1', '/ip6/64:ff9b::8.8.8.8/tcp/1', '/dnsaddr/bootstrap.libp2p.io', `/p2p/${R}/p2p-circuit/p2p/${T}`, `/ip4/1.2.3.4/tcp/1/p2p/${R}/p2p-circuit/p2p/${T}`]) {
      expect(await gater.denyDialMultiaddr?.(multiaddr(addr)), addr).to.be.false()
    }
  })

  it('server: resolves names as the transports will (getaddrinfo) and denies a name of this host', async () => {
    const gater = connectivityPreset('server').connectionGater
    const name = hostname()
    const resolved = await lookup(name, { all: true })
    const expected = resolved.length === 0 || resolved.some(r => isPrivateIp(r.address) === true)
    expect(await gater?.denyDialMultiaddr?.(multiaddr(`/dns4/${name}/tcp/1`)), `${name} -> ${resolved.map(r => r.address).join(', ')}`).to.equal(expected)
  })

  it('server: a dial to a node on loopback named LOCALHOST is denied', async () => {
    const target = await createLibp2p<PresetServices>(connectivityPreset('development', { peerDiscovery: [] }))
    nodes.push(target)
    const server = await createLibp2p<PresetServices>(connectivityPreset('server', { bootstrap: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }))
    nodes.push(server)
    const tcpAddr = target.getMultiaddrs().find(ma => ma.toString().includes('/tcp/') && !ma.toString().includes('/ws'))
    expect(tcpAddr).to.exist()
    const named = multiaddr(tcpAddr!.toString().replace('/ip4/127.0.0.1/', '/dns4/LOCALHOST/'))
    const err = await server.dial(named, { signal: AbortSignal.timeout(5_000) }).catch((e: any) => e)
    expect(err).to.have.property('name', 'DialDeniedError')
  })
})
