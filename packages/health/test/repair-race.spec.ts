/**
 * Repair racing the service's lifecycle: a repair or re-dial still in flight
 * when `stop()` runs belongs to that run. It must not dial, hold a peer or
 * count anything once its run stopped, nor touch the state of a run started
 * after it (`stop()` then `start()` while it awaits).
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { ConnectionRecord } from '../src/record.ts'
import { fakeConnection, harness, newPeer } from './fixtures/fake-connections.ts'
import type { Connection, Peer } from '@libp2p/interface'

describe('repair racing stop() and start()', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  /** Runs the fake clock until `work` ends (a repair closes in a turn of its own, a timer) */
  async function settle (work: Promise<void>): Promise<void> {
    const state = { done: false }
    const ended = work.finally(() => { state.done = true })
    while (!state.done) { await clock.tickAsync(1) }
    await ended
  }

  it('a repair whose tag lookup answers after stop() dials no replacement and holds nothing, even when the service started again', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const tags = Promise.withResolvers<Peer>()
    h.peerStore.get.returns(tags.promise)
    const health = h.service({ minConnectionsPerPeer: 0, replaceGrace: 0 })
    const repairer = (health as any).repairer
    const conn = fakeConnection(peer, h.open, {})
    h.open.push(conn)
    health.start()

    // an unhealthy live connection: repair awaits the peer store's tags
    const repairing = repairer.repair(new ConnectionRecord(conn, Date.now()))
    health.stop()
    health.start()
    tags.reject(Object.assign(new Error('not found'), { name: 'NotFoundError' }))
    await settle(repairing)

    expect(h.connectionManager.openConnection.callCount, 'replacement dials after stop()').to.equal(0)
    expect(repairer.sizes, 'state left by the stopped run').to.deep.equal({ held: 0, payoffs: 0, redialing: 0 })
    expect(h.open.map(c => c.id), 'open connections').to.deep.equal([conn.id])
    expect(health.counters.replacements).to.equal(0)
    health.stop()
  })

  it('a re-dial loop of a stopped run ending late does not end the bookkeeping of the next run\'s: one re-dial loop per peer', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    // re-dials that hang past their signal's abort, as a dial stuck in a handshake may
    const dials: Array<PromiseWithResolvers<Connection>> = []
    h.connectionManager.openConnection.callsFake(async () => {
      const dial = Promise.withResolvers<Connection>()
      dials.push(dial)
      return dial.promise
    })
    const health = h.service()
    const repairer = (health as any).repairer
    /** A record of a dead connection that was replaced, now closed: its peer has nothing left */
    const replaced = (): ConnectionRecord => {
      const record = new ConnectionRecord(fakeConnection(peer, h.open, {}), Date.now())
      record.event('replaced', Date.now())
      return record
    }

    health.start()
    repairer.onClosed(replaced())
    expect(dials).to.have.lengthOf(1)

    health.stop()
    health.start()
    // the new run re-dials the peer on its own
    repairer.onClosed(replaced())
    expect(dials).to.have.lengthOf(2)

    // the old run's dial gives up now, and its loop ends
    dials[0].reject(new Error('aborted late'))
    await clock.tickAsync(0)

    // the new run's loop still runs: another closed connection of the peer starts no second loop
    repairer.onClosed(replaced())
    expect(dials, 're-dial loops of the peer in the new run').to.have.lengthOf(2)
    expect(repairer.sizes.redialing).to.equal(1)

    health.stop()
    dials[1].reject(new Error('aborted'))
    await clock.tickAsync(0)
    expect(repairer.sizes.redialing).to.equal(0)
  })
})
