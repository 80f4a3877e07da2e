import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness } from './fixtures/harness.ts'
import type { FakeConnection } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

describe('pool maintenance (fake time)', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('closes idle surplus connections after idleTimeout, down to the minimum', async () => {
    const { pool, open } = createHarness(peer, { idleTimeout: 60_000, maintenanceInterval: 10_000, minConnectionsPerPeer: 1 })
    await pool.dial(peer)
    expect(open).to.have.lengthOf(3)

    await clock.tickAsync(50_000)
    expect(open).to.have.lengthOf(3)

    await clock.tickAsync(20_000)
    expect(open).to.have.lengthOf(1)
    await pool.stop()
  })

  it('keeps busy connections however long they are open', async () => {
    const { pool, open } = createHarness(peer, { idleTimeout: 1_000, maintenanceInterval: 500 })
    await pool.dial(peer)
    for (const conn of open) {
      conn.streams.push({} as any)
    }

    await clock.tickAsync(10_000)
    expect(open).to.have.lengthOf(3)
    await pool.stop()
  })

  it('re-dials with backoff after a connection closes', async () => {
    const { pool, open, connectionManager } = createHarness(peer, { retry: { initialDelay: 1_000, maxDelay: 1_000, jitterFactor: 0 } })
    await pool.dial(peer)
    expect(connectionManager.openConnection.callCount).to.equal(3)

    // lost well after the refusal window
    await clock.tickAsync(2_000)
    ;(open[0] as FakeConnection).drop()

    await clock.tickAsync(999)
    expect(connectionManager.openConnection.callCount).to.equal(3)
    await clock.tickAsync(1)
    expect(connectionManager.openConnection.callCount).to.equal(4)
    expect(open).to.have.lengthOf(3)
    expect(connectionManager.openConnection.lastCall.args[1]).to.have.property('force', true)
    await pool.stop()
  })

  it('counts a new connection the remote closes at once as a refusal and does not re-dial it', async () => {
    const { pool, open, connectionManager } = createHarness(peer, { retry: { initialDelay: 100, maxDelay: 100, jitterFactor: 0 } })
    await pool.dial(peer)

    // the remote's resource manager closes the third connection 10 ms after the handshake
    await clock.tickAsync(10)
    ;(open[2] as FakeConnection).drop()

    await clock.tickAsync(5_000)
    expect(connectionManager.openConnection.callCount).to.equal(3)
    expect(pool.getMetrics()).to.include({ dialRefusals: 1, connections: 2 })
    await pool.stop()
  })

  it('retries a failing dial with growing delays, then reports failed', async () => {
    const { pool, connectionManager } = createHarness(peer, { retry: { maxRetries: 3, initialDelay: 100, maxDelay: 10_000, backoffMultiplier: 2, jitterFactor: 0 } })
    const attemptsAt: number[] = []
    connectionManager.openConnection.callsFake(async () => {
      attemptsAt.push(Date.now())
      throw new Error('ECONNREFUSED')
    })

    const result = pool.dial(peer).catch(err => err)
    await clock.tickAsync(1_000)
    const err = await result

    expect(err).to.have.property('name', 'PeerDialFailedError')
    expect(attemptsAt.map(t => t - attemptsAt[0])).to.deep.equal([0, 100, 300, 700])
    expect(pool.getStatus(peer)).to.equal('failed')
    await pool.stop()
  })

  it('does not retry a dial that reached the wrong peer', async () => {
    const { pool, connectionManager } = createHarness(peer, {})
    connectionManager.openConnection.rejects(Object.assign(new Error('wrong peer'), { name: 'UnexpectedPeerError' }))

    const err = await pool.dial(peer).catch(e => e)
    expect(err).to.have.property('name', 'PeerDialFailedError')
    expect(connectionManager.openConnection.callCount).to.equal(1)
    await pool.stop()
  })

  it('accounts its bookkeeping memory per peer and connection', async () => {
    const { pool } = createHarness(peer, {})
    const empty = pool.getMetrics().bookkeepingBytes
    await pool.dial(peer)
    const withPeer = pool.getMetrics().bookkeepingBytes
    expect(withPeer).to.be.greaterThan(empty)
    expect(withPeer - empty).to.be.below(3 * 1024)
    await pool.stop()
  })
})
