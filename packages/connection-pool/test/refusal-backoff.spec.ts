/**
 * A refused dial may be a limit that passes within seconds (js-libp2p's 5
 * inbound connections per second per host, go-libp2p's connection rate
 * limit), so it holds the peer's target down for a short time that doubles
 * with each refusal in a row, up to `REFUSAL_HOLD`, and maintenance asks
 * for the full target again when a hold ends (review: one pooled connection
 * for 10 minutes after a one-second burst). A connection closed at once
 * after its dial is still held the whole `REFUSAL_HOLD`.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { REFUSAL_HOLD, REFUSAL_HOLD_START } from '../src/constants.ts'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { FakeConnection, Harness } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

const MAINTENANCE_INTERVAL = 1_000

/**
 * The remote accepts `accepted()` connections and resets the handshake of
 * any more; returns the times of its refusals
 */
function refuseBeyond (harness: Harness, peer: PeerId, accepted: () => number): number[] {
  const refusals: number[] = []

  harness.connectionManager.openConnection.callsFake(async () => {
    if (harness.open.length >= accepted()) {
      refusals.push(Date.now())
      throw Object.assign(new Error('stream reset during the upgrade'), { name: 'StreamResetError' })
    }

    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    harness.events.safeDispatchEvent('connection:open', { detail: conn })
    return conn
  })

  return refusals
}

/** The time between each refusal and the next */
function gaps (times: number[]): number[] {
  return times.slice(1).map((at, i) => at - times[i])
}

/** Each hold of a refusal streak that starts at `first`: doubling, capped at `REFUSAL_HOLD` */
function holds (count: number, first = REFUSAL_HOLD_START): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(REFUSAL_HOLD, first * 2 ** i))
}

describe('the hold of a refused dial', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('ends after REFUSAL_HOLD_START, and maintenance tops the peer up to maxConnectionsPerPeer without another dial()', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, maintenanceInterval: MAINTENANCE_INTERVAL })
    let limit = 1
    refuseBeyond(harness, peer, () => limit)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 1 })

    // the burst that used up the remote's limit is over
    limit = 3

    // held: no dial while it lasts
    await clock.tickAsync(REFUSAL_HOLD_START - MAINTENANCE_INTERVAL)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics().dialAttempts).to.equal(2)

    await clock.tickAsync(2 * MAINTENANCE_INTERVAL)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(3)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 4, dialRefusals: 1 })

    // and stays there: nothing more to dial
    await clock.tickAsync(REFUSAL_HOLD)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 4, dialRefusals: 1 })
    await harness.pool.stop()
  })

  it('doubles with each refusal in a row, up to REFUSAL_HOLD: a peer that always refuses costs a few dials per 10 minutes', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, maintenanceInterval: MAINTENANCE_INTERVAL })
    const refusals = refuseBeyond(harness, peer, () => 1)

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    await clock.tickAsync(50 * 60_000)

    // each refusal comes once the last one's hold has ended, at the first maintenance after it
    const expected = holds(refusals.length - 1)
    expect(expected.slice(-3)).to.deep.equal([REFUSAL_HOLD, REFUSAL_HOLD, REFUSAL_HOLD])
    gaps(refusals).forEach((gap, i) => {
      expect(gap).to.be.within(expected[i], expected[i] + MAINTENANCE_INTERVAL)
    })

    // at most log2(REFUSAL_HOLD / REFUSAL_HOLD_START) + 1 in the first 10 minutes
    const bound = Math.ceil(Math.log2(REFUSAL_HOLD / REFUSAL_HOLD_START)) + 1
    expect(refusals.filter(at => at - refusals[0] < REFUSAL_HOLD)).to.have.length.of.at.most(bound)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialRefusals: refusals.length, dialAttempts: 1 + refusals.length, dialRetries: 0 })
    await harness.pool.stop()
  })

  it('release() and dial() during a hold neither end it nor start the streak again', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, maintenanceInterval: MAINTENANCE_INTERVAL })
    const refusals = refuseBeyond(harness, peer, () => 1)

    await harness.pool.dial(peer)
    await clock.tickAsync(REFUSAL_HOLD_START + MAINTENANCE_INTERVAL)
    expect(refusals).to.have.lengthOf(2)

    // twice within the second hold: one connection each time, nothing refused
    for (let i = 0; i < 2; i++) {
      await harness.pool.release(peer)
      expect(harness.open).to.have.lengthOf(0)
      expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
      await clock.tickAsync(MAINTENANCE_INTERVAL)
    }

    expect(refusals).to.have.lengthOf(2)

    // the streak goes on: twice as long, then twice again
    await clock.tickAsync(6 * REFUSAL_HOLD_START)
    expect(refusals).to.have.lengthOf(4)
    const expected = holds(3)
    gaps(refusals).forEach((gap, i) => {
      expect(gap).to.be.within(expected[i], expected[i] + MAINTENANCE_INTERVAL)
    })
    await harness.pool.stop()
  })

  it('starts again at REFUSAL_HOLD_START once an extra dial succeeds: the peer accepted more than when it refused', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3, maintenanceInterval: MAINTENANCE_INTERVAL })
    let limit = 1
    const refusals = refuseBeyond(harness, peer, () => limit)

    await harness.pool.dial(peer)
    await clock.tickAsync(REFUSAL_HOLD_START + 2 * REFUSAL_HOLD_START + MAINTENANCE_INTERVAL)
    expect(refusals).to.have.lengthOf(3)
    expect(gaps(refusals)[1]).to.be.at.least(2 * REFUSAL_HOLD_START)

    // a second connection gets through when the third hold ends, the third does not
    limit = 2
    await clock.tickAsync(4 * REFUSAL_HOLD_START + MAINTENANCE_INTERVAL)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(2)
    expect(refusals).to.have.lengthOf(4)

    // the refusal after that success held from the start again
    await clock.tickAsync(REFUSAL_HOLD_START + MAINTENANCE_INTERVAL)
    expect(refusals).to.have.lengthOf(5)
    expect(gaps(refusals)[3]).to.be.within(REFUSAL_HOLD_START, REFUSAL_HOLD_START + MAINTENANCE_INTERVAL)
    await harness.pool.stop()
  })

  it('a connection the remote closes at once after its dial holds the whole REFUSAL_HOLD, and maintenance raises it after that', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2, maintenanceInterval: MAINTENANCE_INTERVAL })
    let turnAway = true
    harness.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, harness.open, harness.events)
      harness.open.push(conn)
      harness.events.safeDispatchEvent('connection:open', { detail: conn })

      if (harness.open.length > 1 && turnAway) {
        setTimeout(() => { (conn as FakeConnection).drop() }, 25)
      }

      return conn
    })

    expect(await harness.pool.dial(peer)).to.have.lengthOf(2)
    await clock.tickAsync(MAINTENANCE_INTERVAL)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 1 })

    turnAway = false
    await clock.tickAsync(REFUSAL_HOLD - 2 * MAINTENANCE_INTERVAL)
    expect(harness.pool.getMetrics().dialAttempts).to.equal(2)

    await clock.tickAsync(2 * MAINTENANCE_INTERVAL)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(2)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 1 })
    await harness.pool.stop()
  })
})
