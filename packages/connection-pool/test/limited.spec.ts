/**
 * A peer whose only open connections are limited (relayed) (issue 12, a
 * defect the demo found): `newStream` without `runOnLimitedConnection` may
 * not use them, so it dials a direct connection instead of failing at once
 * because the relayed one counts toward the per-peer target. The dials that
 * makes are bounded: never more than `maxConnectionsPerPeer` open
 * connections to the peer, so a peer reachable only through a relay is not
 * dialled again on every call.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { Connection, PeerId } from '@libp2p/interface'

function relayed (harness: Harness, peer: PeerId): Connection {
  const conn: any = fakeConnection(peer, harness.open, harness.events)
  conn.limits = { seconds: 120, bytes: 1n << 17n }
  conn.direct = false
  harness.open.push(conn)
  return conn
}

/** Dials give direct connections, or relayed ones when the peer is reachable only through a relay */
function dials (harness: Harness, peer: PeerId, relayOnly: boolean): void {
  harness.connectionManager.openConnection.callsFake(async () => {
    if (relayOnly) {
      return relayed(harness, peer)
    }

    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    return conn
  })
}

describe('a peer with only limited (relayed) connections open', () => {
  let peer: PeerId

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('newStream dials a direct connection and opens the stream on it', async () => {
    const harness = createHarness(peer)
    const relay = relayed(harness, peer)
    dials(harness, peer, false)

    const stream = await harness.pool.newStream(peer, '/x/1.0.0')

    expect(stream).to.have.property('protocol', '/x/1.0.0')
    expect(harness.connectionManager.openConnection.callCount).to.equal(1)
    expect((relay.newStream as sinon.SinonStub).callCount).to.equal(0)
    await harness.pool.stop()
  })

  it('newStream with runOnLimitedConnection uses the relayed connection and dials nothing', async () => {
    const harness = createHarness(peer)
    const relay = relayed(harness, peer)
    dials(harness, peer, false)

    await harness.pool.newStream(peer, '/x/1.0.0', { runOnLimitedConnection: true })

    expect(harness.connectionManager.openConnection.callCount).to.equal(0)
    expect((relay.newStream as sinon.SinonStub).callCount).to.equal(1)
    await harness.pool.stop()
  })

  it('a peer reachable only through a relay: NoConnectionAvailableError naming the cause, and never more than maxConnectionsPerPeer connections however often it is called', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    relayed(harness, peer)
    dials(harness, peer, true)

    for (let i = 0; i < 10; i++) {
      const err = await harness.pool.newStream(peer, '/x/1.0.0').catch(err => err)
      expect(err).to.have.property('name', 'NoConnectionAvailableError')
      expect(err.message).to.match(/limited|relayed/)
    }

    expect(harness.open.length).to.be.at.most(3)
    expect(harness.connectionManager.openConnection.callCount).to.be.at.most(2)
    expect(harness.pool.getStatus(peer)).to.equal('connected')
    await harness.pool.stop()
  })

  it('a peer connected through a relay gets one direct dial attempt per call, not retries with backoff', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })

    try {
      const harness = createHarness(peer, { retry: { maxRetries: 3, initialDelay: 500, maxDelay: 10_000, jitterFactor: 0 } })
      relayed(harness, peer)
      // a peer behind a NAT: its direct addresses cannot be dialled
      harness.connectionManager.openConnection.rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))

      const result = harness.pool.newStream(peer, '/x/1.0.0').catch(err => err)
      await clock.tickAsync(10_000)

      expect(await result).to.have.property('name', 'NoConnectionAvailableError')
      expect(harness.connectionManager.openConnection.callCount).to.equal(1)
      expect(harness.pool.getMetrics().dialRetries).to.equal(0)
      await harness.pool.stop()
    } finally {
      clock.restore()
    }
  })

  it('a failed direct dial is NoConnectionAvailableError with the dial error as cause, and no failed status', async () => {
    const harness = createHarness(peer, { retry: { maxRetries: 0 } })
    relayed(harness, peer)
    harness.connectionManager.openConnection.rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))

    const err = await harness.pool.newStream(peer, '/x/1.0.0').catch(err => err)

    expect(err).to.have.property('name', 'NoConnectionAvailableError')
    expect(err.cause).to.have.property('name', 'PeerDialFailedError')
    expect(harness.pool.getStatus(peer)).to.equal('connected')
    await harness.pool.stop()
  })
})
