/**
 * A target that the remote's refusals lowered (go-libp2p's resource manager
 * closing or resetting connections over its per-peer limit) is not raised
 * again by the next `dial()` (issue 12, review): a caller calling `dial()`
 * repeatedly must not turn refusals into a dialling loop. Only once the
 * refusal's hold has ended (`REFUSAL_HOLD_START` for a first refused dial;
 * refusal-backoff.spec.ts for the streak) does `dial()` ask for the full
 * target.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { REFUSAL_HOLD, REFUSAL_HOLD_START } from '../src/constants.ts'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

/** The remote accepts `accepted()` connections and resets the handshake of any more */
function refuseBeyond (harness: Harness, peer: PeerId, accepted: () => number): void {
  harness.connectionManager.openConnection.callsFake(async () => {
    if (harness.open.length >= accepted()) {
      throw Object.assign(new Error('stream reset during the upgrade'), { name: 'StreamResetError' })
    }

    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    harness.events.safeDispatchEvent('connection:open', { detail: conn })
    return conn
  })
}

describe('a target lowered by refusals', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('is kept by later dial() calls while it holds: no new dial per call', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    refuseBeyond(harness, peer, () => 2)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 1 })

    for (let i = 0; i < 10; i++) {
      expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
      await clock.tickAsync(REFUSAL_HOLD_START / 20)
    }

    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('is raised again by dial() once its hold has passed since the last refusal', async () => {
    // maintenance (every 10 s) would raise it too: this dial() comes first
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    let limit = 1
    refuseBeyond(harness, peer, () => limit)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics().dialRefusals).to.equal(1)

    await clock.tickAsync(REFUSAL_HOLD_START - 1_000)
    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics().dialAttempts).to.equal(2)

    // the remote raised its limit; after the hold the pool asks again
    limit = 3
    await clock.tickAsync(1_000)
    expect(await harness.pool.dial(peer)).to.have.lengthOf(3)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 4, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('a refused re-raise costs one dial and holds again', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    refuseBeyond(harness, peer, () => 1)

    await harness.pool.dial(peer)
    await clock.tickAsync(REFUSAL_HOLD_START)
    await harness.pool.dial(peer)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 2 })

    for (let i = 0; i < 10; i++) {
      await harness.pool.dial(peer)
    }

    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 2 })
    await harness.pool.stop()
  })

  it('outlives release(): a peer released and dialled again is not re-dialled past what it refused', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    refuseBeyond(harness, peer, () => 2)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 1 })

    for (let i = 0; i < 5; i++) {
      await harness.pool.release(peer)
      expect(harness.open).to.have.lengthOf(0)
      expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
      await clock.tickAsync(1_000)
    }

    // two connections per round, and no third dial for the remote to refuse
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3 + 5 * 2, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('a hold kept past release() is a ceiling, not a target: newStream() borrowing the peer again dials one connection', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    refuseBeyond(harness, peer, () => 2)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    await harness.pool.release(peer)
    expect(harness.open).to.have.lengthOf(0)

    // borrowed: one connection, as for any borrowed peer
    await harness.pool.newStream(peer, '/x/1')
    expect(harness.open).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 4, dialRefusals: 1 })

    // kept again within the hold: up to what it accepted, nothing more
    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 5, dialRefusals: 1 })

    // borrowed and released without dial(): the hold is still there for the next one
    await harness.pool.release(peer)
    await harness.pool.newStream(peer, '/x/1')
    await harness.pool.release(peer)
    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 8, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('a hold kept past release() still ends after its time', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    let limit = 1
    refuseBeyond(harness, peer, () => limit)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    await harness.pool.release(peer)

    limit = 3
    await clock.tickAsync(REFUSAL_HOLD_START)
    expect(await harness.pool.dial(peer)).to.have.lengthOf(3)
    expect(harness.pool.getMetrics()).to.include({ dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('minConnectionsPerPeer above what the remote accepts: no retries, no re-dial loop, only a refused dial per hold', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, minConnectionsPerPeer: 2 })
    refuseBeyond(harness, peer, () => 1)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 1, dialRetries: 0 })

    // maintenance does not re-dial for the minimum while the refusal is held
    await clock.tickAsync(REFUSAL_HOLD_START - 1_000)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 1 })

    // after each hold it asks once more, and is held longer each time: at
    // most log2(REFUSAL_HOLD / REFUSAL_HOLD_START) + 1 refusals in 10 minutes
    await clock.tickAsync(REFUSAL_HOLD - REFUSAL_HOLD_START)
    const { dialAttempts, dialRefusals, dialRetries } = harness.pool.getMetrics()
    expect(dialRetries).to.equal(0)
    expect(dialRefusals).to.be.within(2, Math.ceil(Math.log2(REFUSAL_HOLD / REFUSAL_HOLD_START)) + 1)
    expect(dialAttempts).to.equal(1 + dialRefusals)
    expect(harness.open).to.have.lengthOf(1)
    await harness.pool.stop()
  })

  it('minConnectionsPerPeer above what the remote accepts: a hold kept past release() still holds the peer at what it accepted', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, minConnectionsPerPeer: 2 })
    refuseBeyond(harness, peer, () => 1)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)

    for (let i = 0; i < 3; i++) {
      await harness.pool.release(peer)
      expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
      await clock.tickAsync(REFUSAL_HOLD_START / 10)
    }

    // one connection per round, and no second dial for the remote to refuse
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2 + 3, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('a target lowered by idle expiry (not a refusal) is raised by the next dial()', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, idleTimeout: 60_000, maintenanceInterval: 10_000 })
    refuseBeyond(harness, peer, () => 3)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(3)
    await clock.tickAsync(120_000)
    expect(harness.open.length).to.be.lessThan(3)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(3)
    expect(harness.pool.getMetrics().dialRefusals).to.equal(0)
    await harness.pool.stop()
  })
})
