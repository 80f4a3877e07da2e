import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, nodeAddress, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Stubs } from './fixtures/stubs.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const R0 = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const R1 = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'
const R2 = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const R3 = '12D3KooWNvSZnPi3RrhrTwEY4LuuBeB6K6facKUCJcyWG1aoDd2p'

const timeoutError = (): Error => Object.assign(new Error('timed out'), { name: 'TimeoutError' })

/** Peer store: each peer's addresses (as identify or discovery stored them) */
function peerStoreWith (stubs: Stubs, entries: Record<string, string[]>): void {
  stubs.peerStore.get.callsFake(async (peer: PeerId) => {
    const addrs = entries[peer.toString()]
    if (addrs == null) {
      throw Object.assign(new Error('not found'), { name: 'NotFoundError' })
    }
    return { id: peer, addresses: addrs.map(a => ({ multiaddr: multiaddr(a), isCertified: false })), protocols: [], metadata: new Map(), tags: new Map() } as any
  })
}

const relaysTried = (stubs: Stubs): string[][] => stubs.connectionManager.openConnection.getCalls()
  .map(call => (call.args[0] as Multiaddr[]).map(String))
  .filter(addrs => addrs.some(a => a.includes('/p2p-circuit')))

describe('relay fallback through the target\'s reservations', () => {
  async function setup (init = {}): Promise<{ stubs: Stubs, service: UniversalConnectivity, target: PeerId }> {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000, relayDialTimeout: 1_000, upgradeTimeout: 0, ...init })
    await service.start()
    await service.afterStart()
    stubs.connectionManager.openConnection.rejects(timeoutError())
    // we hold a reservation on R0: in circuit relay v2 that says nothing about the target
    stubs.addresses.push(nodeAddress(`/ip4/10.0.0.1/tcp/4001/p2p/${R0}/p2p-circuit`, { verified: true }))
    stubs.connections.push(fakeConnection(peerIdFromString(R0), { addr: '/ip4/10.0.0.1/tcp/4001' }))
    return { stubs, service, target: await peerId() }
  }

  it('dials through the relays the target holds reservations on, never through ours', async () => {
    const { stubs, service, target } = await setup()
    peerStoreWith(stubs, { [target.toString()]: ['/ip4/10.9.0.2/tcp/4001', `/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit`] })
    const err = await service.dialPeer(target).catch((e: any) => e)
    expect(err.name).to.equal('ConnectivityDialError')
    expect(relaysTried(stubs)).to.deep.equal([[`/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit/p2p/${target}`]])
    expect(err.attempts.map((a: any) => [a.path, a.relay])).to.deep.equal([['direct', undefined], ['relay', R1]])
    await service.stop()
  })

  it('uses the target\'s circuit addresses given in addrs along with those in the peer store', async () => {
    const { stubs, service, target } = await setup()
    peerStoreWith(stubs, { [target.toString()]: [`/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit`] })
    await service.dialPeer(target, { addrs: [multiaddr('/ip4/10.9.0.2/tcp/4001'), multiaddr(`/ip4/11.0.0.2/tcp/4001/p2p/${R2}/p2p-circuit`)] }).catch((e: any) => e)
    expect(relaysTried(stubs).map(addrs => addrs[0].split('/p2p/')[1].split('/')[0])).to.have.members([R1, R2])
    await service.stop()
  })

  it('resolves a relay named without an address from its listen addresses, never an inbound connection\'s ephemeral port', async () => {
    const { stubs, service, target } = await setup()
    peerStoreWith(stubs, {
      [target.toString()]: [`/p2p/${R1}/p2p-circuit`],
      [R1]: ['/ip4/11.0.0.1/tcp/4001']
    })
    stubs.connections.push(fakeConnection(peerIdFromString(R1), { addr: '/ip4/11.0.0.1/tcp/52731', direction: 'inbound' }))
    await service.dialPeer(target).catch((e: any) => e)
    expect(relaysTried(stubs)).to.deep.equal([[`/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit/p2p/${target}`]])
    await service.stop()
  })

  it('counts every relay attempt against maxRelayAttempts', async () => {
    const { stubs, service, target } = await setup({ maxRelayAttempts: 2 })
    peerStoreWith(stubs, { [target.toString()]: [R1, R2, R3].map((r, i) => `/ip4/11.0.0.${i + 1}/tcp/4001/p2p/${r}/p2p-circuit`) })
    const err = await service.dialPeer(target).catch((e: any) => e)
    // one relay per attempt, two attempts in all
    expect(relaysTried(stubs).flat().map(a => a.split('/p2p/')[1].split('/')[0])).to.deep.equal([R1, R2])
    expect(err.attempts.filter((a: any) => a.path === 'relay')).to.have.lengthOf(2)
    await service.stop()
  })

  it('tries the relays health rates best first', async () => {
    const { stubs, service, target } = await setup()
    peerStoreWith(stubs, { [target.toString()]: [R1, R2, R3].map((r, i) => `/ip4/11.0.0.${i + 1}/tcp/4001/p2p/${r}/p2p-circuit`) })
    const health = (relay: string, score: number): void => {
      stubs.events.safeDispatchEvent('connection:health', { detail: { peer: peerIdFromString(relay), connectionId: `c-${relay}`, score, state: 'healthy', successRate: 1, stability: 1, limited: false, adaptiveTimeout: 1_000, timestamp: Date.now() } })
    }
    health(R1, 0.2)
    health(R3, 0.95)
    const err = await service.dialPeer(target).catch((e: any) => e)
    // R3 (0.95) first, then R2 (not measured), then R1 (0.2)
    expect(err.attempts.filter((a: any) => a.path === 'relay').map((a: any) => a.relay)).to.deep.equal([R3, R2, R1])
    await service.stop()
  })

  it('says there is no relay for a target with no known reservation', async () => {
    const { stubs, service, target } = await setup()
    peerStoreWith(stubs, {})
    const err = await service.dialPeer(target).catch((e: any) => e)
    expect(err.name).to.equal('NoDialableAddressError')
    expect(stubs.connectionManager.openConnection.called).to.be.false()
    await service.stop()
  })
})
