/**
 * Status and refusals (issue 12, items 7 and 8): the status follows the
 * open connections (an event on every change), and a refusal is timed from
 * the moment the dial completed, not from before the handshake.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness, fakeConnection, hangUntilAborted } from './fixtures/harness.ts'
import type { FakeConnection } from './fixtures/harness.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

describe('status and refusals', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('item 7: the last connection closing while a re-dial is in flight leaves the peer connecting, with an event', async () => {
    const { pool, connectionManager, open, statuses } = createHarness(peer, { retry: { initialDelay: 1_000, maxDelay: 1_000, jitterFactor: 0 } })
    await pool.dial(peer)
    await clock.tickAsync(5_000)
    expect(pool.getStatus(peer)).to.equal('connected')

    // the remote stops answering: re-dials hang
    connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))
    ;(open[0] as FakeConnection).drop()
    await clock.tickAsync(1_000)
    expect(connectionManager.openConnection.callCount).to.equal(4)

    const before = statuses.length
    for (const conn of [...open]) {
      (conn as FakeConnection).drop()
    }

    expect(pool.getConnections(peer)).to.have.lengthOf(0)
    expect(pool.getStatus(peer)).to.equal('connecting')
    expect(statuses.slice(before).map(s => s.status)).to.deep.equal(['connecting'])
    expect(statuses.at(-1)).to.have.property('connections', 0)
    await pool.stop()
  })

  it('item 7: a connection opening during a re-dial makes the peer connected again, with an event', async () => {
    const { pool, open, statuses, events } = createHarness(peer, { maxConnectionsPerPeer: 1 })
    await pool.dial(peer)
    ;(open[0] as FakeConnection).drop()
    expect(pool.getStatus(peer)).to.equal('disconnected')

    // someone else connects before the pool's re-dial
    const outside = fakeConnection(peer, open, events)
    open.push(outside)
    events.safeDispatchEvent('connection:open', { detail: outside })
    expect(pool.getStatus(peer)).to.equal('connected')
    expect(statuses.at(-1)).to.include({ status: 'connected', connections: 1 })
    await pool.stop()
  })

  it('item 8: a refusal is timed from when the dial completed, so a slow handshake does not hide it', async () => {
    const { pool, connectionManager, open, events } = createHarness(peer, { retry: { initialDelay: 100, maxDelay: 100, jitterFactor: 0 } })
    let last: FakeConnection | undefined
    connectionManager.openConnection.callsFake(async () => {
      // the socket opens now; the handshake over a slow path takes 2 s
      const conn = fakeConnection(peer, open, events)
      await new Promise(resolve => setTimeout(resolve, 2_000))
      open.push(conn)
      last = conn
      return conn
    })

    const dialled = pool.dial(peer)
    await clock.tickAsync(6_000)
    expect(await dialled).to.have.lengthOf(3)

    // the remote's resource manager closes the third one 100 ms after the handshake
    await clock.tickAsync(100)
    last?.drop()

    await clock.tickAsync(10_000)
    expect(connectionManager.openConnection.callCount).to.equal(3)
    expect(pool.getMetrics()).to.include({ dialRefusals: 1, connections: 2 })
    await pool.stop()
  })
})
