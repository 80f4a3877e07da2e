/**
 * stop() leaves no timer behind: the NAT poll, the DCUtR poll and window
 * timers, and the timer of a dial waiting for its upgrade.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'

const RELAY = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'

describe('stop', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('clears every timer and poll, and a dial waiting for its upgrade settles', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { upgradeTimeout: 60_000, holePunchWindow: 60_000 })
    await service.start()
    await service.afterStart()
    const peer = await peerId()
    stubs.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, { relayed: true })
      stubs.connections.push(conn)
      stubs.events.safeDispatchEvent('connection:open', { detail: conn })
      return conn
    })
    const dial = service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)] })
    await clock.tickAsync(100)
    expect(clock.countTimers()).to.be.greaterThan(2)

    await service.stop()
    const result = await dial
    expect(result.path).to.equal('relay')
    expect(clock.countTimers()).to.equal(0)

    // and a restart polls again
    await service.start()
    await service.afterStart()
    expect(clock.countTimers()).to.equal(1)
    await service.stop()
    expect(clock.countTimers()).to.equal(0)
  })
})
