/**
 * Circuit addresses come from peers (identify, discovery): one whose relay
 * part carries a path-like value (`/unix/<path>`, `/http-path/<path>`) must
 * be kept intact or dropped, never break the dial to the target.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { peerId, stubComponents } from './fixtures/stubs.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

const R1 = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'
const R2 = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

describe('relay candidates from peer-supplied addresses', () => {
  it('keeps a relay address with path-like values intact and still tries the other relays', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000, relayDialTimeout: 1_000, upgradeTimeout: 0 })
    await service.start()
    await service.afterStart()
    stubs.connectionManager.openConnection.rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))
    const target = await peerId()

    const err = await service.dialPeer(target, {
      addrs: [
        multiaddr(`/unix/%2Ftmp%2Frelay.sock/p2p/${R1}/p2p-circuit`),
        multiaddr(`/ip4/11.0.0.2/tcp/4001/http-path/a%2Fb/p2p/${R2}/p2p-circuit`)
      ]
    }).catch((e: any) => e)

    expect(err).to.have.property('name', 'ConnectivityDialError')
    const tried = stubs.connectionManager.openConnection.getCalls().map(call => (call.args[0] as Multiaddr[]).map(String))
    expect(tried).to.deep.include([`/unix/%2Ftmp%2Frelay.sock/p2p/${R1}/p2p-circuit/p2p/${target}`])
    expect(tried).to.deep.include([`/ip4/11.0.0.2/tcp/4001/http-path/a%2Fb/p2p/${R2}/p2p-circuit/p2p/${target}`])
    await service.stop()
  })
})
