/**
 * Repair's own state (issue 22): `stop()` forgets every hold, pending
 * verdict and re-dial, and the per-peer holds are bounded
 * (`MAX_HELD_PEERS`).
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { MAX_HELD_PEERS } from '../src/constants.ts'
import { ConnectionRecord } from '../src/record.ts'
import { fakeConnection, harness, newPeer } from './fixtures/fake-connections.ts'

describe('repair state', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('stop() forgets holds, pending verdicts and re-dials; after a restart the peer is replaced again at once', async () => {
    const peer = await newPeer()
    const h = harness(() => peer, () => ({ rtt: 400 }))
    const slow = Array.from({ length: 2 }, () => fakeConnection(peer, h.open, { rtt: 400 }))
    h.open.push(...slow)
    const health = h.service({ checkInterval: 1_000, checkJitter: 0, pingTimeout: 5_000, maxPingLatency: 50, weights: { latency: 1, successRate: 0, stability: 0 }, replaceGrace: 0 })
    health.start()
    // every connection slow: a replacement is dialled and awaits its verdict, the peer is held
    await clock.tickAsync(5_000)
    expect(h.connectionManager.openConnection.callCount).to.equal(1)

    health.stop()
    const repairer = (health as any).repairer
    expect(repairer.sizes).to.deep.equal({ held: 0, payoffs: 0, redialing: 0 })

    health.start()
    await clock.tickAsync(5_000)
    expect(h.connectionManager.openConnection.callCount, 'dials after a restart').to.equal(2)
    health.stop()
  })

  it(`holds at most ${MAX_HELD_PEERS} peers, letting the one held longest ago go`, async function () {
    this.timeout(60_000)
    // a repair closes in a turn of its own (a timer): run the fake clock until it ends
    const settle = async (repair: Promise<void>): Promise<void> => {
      const state = { done: false }
      const ended = repair.finally(() => { state.done = true })
      while (!state.done) { await clock.tickAsync(1) }
      await ended
    }
    const peers = await Promise.all(Array.from({ length: MAX_HELD_PEERS + 2 }, async () => newPeer()))
    const h = harness(() => peers[0])
    h.connectionManager.openConnection.rejects(new Error('unreachable'))
    const health = h.service({ minConnectionsPerPeer: 0 })
    const repairer = (health as any).repairer

    for (const peer of peers) {
      const conn = fakeConnection(peer, h.open, {})
      h.open.push(conn)
      // an unhealthy live connection whose replacement dial fails: the peer is held back
      await settle(repairer.repair(new ConnectionRecord(conn, Date.now())))
    }

    expect(h.connectionManager.openConnection.callCount).to.equal(peers.length)
    // the first peer was let go: its next unhealthy connection is tried again; the last is still held
    await settle(repairer.repair(new ConnectionRecord(fakeConnection(peers[0], h.open, {}), Date.now())))
    await settle(repairer.repair(new ConnectionRecord(fakeConnection(peers[peers.length - 1], h.open, {}), Date.now())))
    expect(h.connectionManager.openConnection.callCount).to.equal(peers.length + 1)
    expect(repairer.sizes.held).to.equal(MAX_HELD_PEERS)
  })
})
