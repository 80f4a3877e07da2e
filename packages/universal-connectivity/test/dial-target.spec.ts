import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('dialPeer accepts what libp2p.dial accepts', () => {
  async function setup (): Promise<{ stubs: Awaited<ReturnType<typeof stubComponents>>, service: UniversalConnectivity }> {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000 })
    await service.start()
    return { stubs, service }
  }

  it('a Multiaddr[] of one peer: dials every address', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    stubs.connectionManager.openConnection.callsFake(async () => fakeConnection(peer))
    const addrs = [multiaddr(`/ip4/12.0.0.2/tcp/4001/p2p/${peer}`), multiaddr(`/ip4/12.0.0.3/tcp/4001/p2p/${peer}`)]
    const result = await service.dialPeerWithResult(addrs)
    expect(result.path).to.equal('direct')
    expect((stubs.connectionManager.openConnection.firstCall.args[0] as Multiaddr[]).map(String)).to.deep.equal(addrs.map(String))
    await service.stop()
  })

  it('rejects multiaddrs of several peers, multiaddrs without a peer id and other arguments with named errors', async () => {
    const { service } = await setup()
    const [a, b] = [await peerId(), await peerId()]
    const mixed = await service.dialPeer([multiaddr(`/ip4/12.0.0.2/tcp/1/p2p/${a}`), multiaddr(`/ip4/12.0.0.3/tcp/1/p2p/${b}`)]).catch((e: any) => e)
    expect(mixed.name).to.equal('InvalidConnectivityOptionError')
    const empty = await service.dialPeer([]).catch((e: any) => e)
    expect(empty.name).to.equal('InvalidConnectivityOptionError')
    const bare = await service.dialPeer([multiaddr('/ip4/12.0.0.2/tcp/1')]).catch((e: any) => e)
    expect(bare.name).to.equal('NoDialableAddressError')
    const wrong = await service.dialPeer('12D3KooW' as any).catch((e: any) => e)
    expect(wrong.name).to.equal('InvalidConnectivityOptionError')
    await service.stop()
  })
})
