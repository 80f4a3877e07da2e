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
})
