/**
 * While `dialPeer` waits for the DCUtR upgrade of a relayed connection, that
 * connection can close (the relay restarts, its limits run out): the dial
 * must not resolve with a closed connection.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Connection } from '@libp2p/interface'

const R1 = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'
const R2 = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

describe('dialPeer waiting for the upgrade', function () {
  this.timeout(10_000)
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('does not resolve with a relayed connection that closed while waiting: it tries the next relay, then fails', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000, relayDialTimeout: 1_000, upgradeTimeout: 10_000 })
    await service.start()
    await service.afterStart()
    const peer = await peerId()
    const opened: Connection[] = []
    stubs.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, { relayed: true })
      stubs.connections.push(conn)
      opened.push(conn)
      stubs.events.safeDispatchEvent('connection:open', { detail: conn })
      return conn
    })
    const settled = service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit`), multiaddr(`/ip4/11.0.0.2/tcp/4001/p2p/${R2}/p2p-circuit`)] })
      .catch((e: any) => e)

    for (let i = 0; i < 2; i++) {
      await clock.tickAsync(1_000)
      const conn = opened[i]
      expect(conn, `relay attempt ${i + 1}`).to.exist()
      ;(conn as any).status = 'closed'
      stubs.connections.splice(stubs.connections.indexOf(conn), 1)
      stubs.events.safeDispatchEvent('connection:close', { detail: conn })
    }

    const result = await settled
    expect(result).to.have.property('name', 'ConnectivityDialError')
    expect(result.attempts.map((a: any) => [a.path, a.relay, a.error != null])).to.deep.equal([['relay', R1, true], ['relay', R2, true]])
    await service.stop()
  })

  it('stops waiting when the peer\'s identify lacks DCUtR, and still counts a hole punch that follows within the window', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000, relayDialTimeout: 1_000, upgradeTimeout: 10_000, holePunchWindow: 30_000 })
    await service.start()
    await service.afterStart()
    const peer = await peerId()
    let relayed: Connection | undefined
    stubs.connectionManager.openConnection.callsFake(async () => {
      relayed = fakeConnection(peer, { relayed: true })
      stubs.connections.push(relayed)
      stubs.events.safeDispatchEvent('connection:open', { detail: relayed })
      return relayed
    })
    let done = false
    const settled = service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${R1}/p2p-circuit`)] })
      .finally(() => { done = true })
    await clock.tickAsync(100)
    expect(done, 'waiting for the upgrade').to.be.false()
    stubs.events.safeDispatchEvent('peer:identify', { detail: { peerId: peer, protocols: ['/ipfs/id/1.0.0'], listenAddrs: [] } as any })
    await clock.tickAsync(0)
    expect(done, 'resolved at once').to.be.true()
    expect((await settled).path).to.equal('relay')

    // the peer starts to speak DCUtR later (go-libp2p once it knows a public address) and hole punches
    await clock.tickAsync(5_000)
    await stubs.handlers.get('/libp2p/dcutr')!.handler({ protocol: '/libp2p/dcutr' } as any, relayed!)
    const direct = fakeConnection(peer)
    stubs.connections.push(direct)
    stubs.events.safeDispatchEvent('connection:open', { detail: direct })
    expect(service.getMetrics().holePunch).to.include({ attempts: 1, successes: 1 })
    expect(service.getMetrics().connections.byPath).to.include({ 'hole-punch': 1 })
    await service.stop()
  })
})
