/**
 * A kept peer whose extra connections do not stay up (the remote closes
 * each a few seconds after the dial, past the refusal window: a connection
 * manager trimming, a load balancer) must not be re-dialled at a steady
 * fast rate forever (issue 12, review: dials without bound). The re-dial
 * backoff grows while connections do not stay up `REDIAL_STABLE_AFTER`,
 * and resets only once one has.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { REDIAL_STABLE_AFTER } from '../src/constants.ts'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { FakeConnection } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

describe('re-dials of a peer whose connections do not stay up', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('back off to one per retry.maxDelay instead of one every few seconds', async () => {
    const retry = { initialDelay: 500, maxDelay: 10_000, backoffMultiplier: 2, jitterFactor: 0 }
    // idle expiry (it would close the connection that stays) is not under test
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2, retry, idleTimeout: 3_600_000 })
    let first = true
    harness.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, harness.open, harness.events)
      harness.open.push(conn)

      // the first connection stays; every other one is closed by the remote 2 s after it opened
      if (!first) {
        setTimeout(() => { (conn as FakeConnection).drop() }, 2_000)
      }
      first = false
      return conn
    })

    await harness.pool.dial(peer)
    await clock.tickAsync(10 * 60_000)

    // 10 minutes: at one re-dial per 12 s at most (2 s up, 10 s backoff), about 50
    // (with a re-dial 2.5 s after each loss, it was 240)
    const dials = harness.connectionManager.openConnection.callCount
    expect(dials).to.be.lessThan(60)
    expect(harness.pool.getStatus(peer)).to.equal('connected')
    await harness.pool.stop()
  })

  it('a connection the pool did not open closing does not reset the backoff', async () => {
    const retry = { initialDelay: 1_000, maxDelay: 8_000, backoffMultiplier: 2, jitterFactor: 0 }
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2, retry })
    await harness.pool.dial(peer)

    // three quick losses: backoff 1, 2, 4 s
    for (const delay of [1_000, 2_000, 4_000]) {
      await clock.tickAsync(1_500)
      const calls = harness.connectionManager.openConnection.callCount
      ;(harness.open[1] as FakeConnection).drop()
      await clock.tickAsync(delay)
      expect(harness.connectionManager.openConnection.callCount).to.equal(calls + 1)
    }

    // the remote dials us and hangs up at once (it could do so after every loss)
    const inbound = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(inbound)
    harness.events.safeDispatchEvent('connection:open', { detail: inbound })
    inbound.drop()

    // the next loss still waits the grown backoff (8 s), not the first delay
    await clock.tickAsync(1_500)
    const calls = harness.connectionManager.openConnection.callCount
    ;(harness.open[1] as FakeConnection).drop()
    await clock.tickAsync(1_000)
    expect(harness.connectionManager.openConnection.callCount).to.equal(calls)
    await clock.tickAsync(7_000)
    expect(harness.connectionManager.openConnection.callCount).to.equal(calls + 1)
    await harness.pool.stop()
  })

  it('a connection that stayed up resets the backoff', async () => {
    const retry = { initialDelay: 1_000, maxDelay: 8_000, backoffMultiplier: 2, jitterFactor: 0 }
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2, retry })
    await harness.pool.dial(peer)

    // three quick losses: backoff 1, 2, 4 s
    for (const delay of [1_000, 2_000, 4_000]) {
      await clock.tickAsync(1_500)
      const calls = harness.connectionManager.openConnection.callCount
      ;(harness.open[1] as FakeConnection).drop()
      await clock.tickAsync(delay - 1)
      expect(harness.connectionManager.openConnection.callCount).to.equal(calls)
      await clock.tickAsync(1)
      expect(harness.connectionManager.openConnection.callCount).to.equal(calls + 1)
    }

    // then one stays up long enough: the next loss is re-dialled after the first delay again
    await clock.tickAsync(REDIAL_STABLE_AFTER)
    const calls = harness.connectionManager.openConnection.callCount
    ;(harness.open[1] as FakeConnection).drop()
    await clock.tickAsync(1_000)
    expect(harness.connectionManager.openConnection.callCount).to.equal(calls + 1)
    await harness.pool.stop()
  })
})
