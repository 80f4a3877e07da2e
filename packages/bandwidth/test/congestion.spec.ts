import { serviceCapabilities } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { CongestionControl } from '../src/congestion.ts'
import { findHealth } from '../src/health-link.ts'
import { Scheduler } from '../src/scheduler.ts'
import { GreedyWriter } from './fixtures/greedy.ts'
import type { ResolvedClass } from '../src/options.ts'
import type { Connection, Libp2pEvents } from '@libp2p/interface'

const classes: ResolvedClass[] = [
  { name: 'interactive', protocols: ['/chat/'], priority: 1, weight: 1, maxRate: Infinity, minRate: 0, background: false },
  { name: 'bulk', protocols: ['/files/'], priority: 0, weight: 1, maxRate: Infinity, minRate: 0, background: true }
]

/** A connection whose yamux PING answers with `rtt()` */
function connection (rtt: () => number): Connection {
  return {
    id: 'c1',
    status: 'open',
    remotePeer: { toString: () => 'peer' },
    muxer: {
      ping: async () => new Promise<number>(resolve => { const value = rtt(); setTimeout(() => { resolve(value) }, value) })
    }
  } as unknown as Connection
}

describe('congestion control (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('lowers the background class while its queuing delay is over the target; the interactive class keeps its rate', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes, burstTime: 10 })
    const events = new TypedEventEmitter<Libp2pEvents>()
    const cc = new CongestionControl({ enabled: true, targetDelay: 25, sampleInterval: 100 }, scheduler, events, defaultLogger().forComponent('test'), classes)
    cc.start()
    // a link queue that grows with what bulk sent in the last sample above 300 kB/s
    let lastBulk = 0
    let bulkRate = 0
    const conn = connection(() => 5 + Math.max(0, (bulkRate - 300_000) / 1000))
    const path = cc.bucketFor(conn)
    expect(path).to.exist()
    const bulk = new GreedyWriter(scheduler, 'bulk', path == null ? [] : [path])
    const interactive = new GreedyWriter(scheduler, 'interactive', [], Infinity)
    const tick = setInterval(() => {
      bulkRate = (bulk.sent - lastBulk) * 10
      cc.sent(conn, bulk.sent - lastBulk)
      lastBulk = bulk.sent
    }, 100)
    bulk.start()
    await clock.tickAsync(10_000)
    const rate = cc.getMetrics()[0].rate
    // held near the 300 kB/s that keeps the queue under 25 ms
    expect(rate).to.be.within(200_000, 360_000)
    // now interactive traffic saturates: it is not slowed by the controller
    interactive.start()
    const before = interactive.sent
    await clock.tickAsync(2_000)
    expect(interactive.sent - before).to.be.above(1_900_000)
    clearInterval(tick)
    bulk.stop()
    interactive.stop()
    cc.stop()
    scheduler.stop()
  })

  it('takes RTTs from @x/health\'s connection:health events', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes, burstTime: 10 })
    const events = new TypedEventEmitter<Libp2pEvents>()
    const cc = new CongestionControl({ enabled: true, targetDelay: 25, sampleInterval: 100 }, scheduler, events, defaultLogger().forComponent('test'), classes)
    cc.start()
    // no muxer PING: health is the only source
    const conn = { id: 'c2', status: 'open', remotePeer: { toString: () => 'peer' } } as unknown as Connection
    cc.bucketFor(conn)
    cc.sent(conn, 1000)
    const rtt = (last: number): any => ({ last, ewma: last, min: 5, p50: last, p95: last, samples: 10 })

    for (let i = 0; i < 6; i++) {
      cc.sent(conn, 1000)
      events.safeDispatchEvent('connection:health', { detail: { connectionId: 'c2', rtt: rtt(200) } as any })
    }

    const m = cc.getMetrics()[0]
    expect(m.baseDelay).to.equal(5)
    expect(m.currentDelay).to.equal(200)
    expect(m.rate).to.be.below(256 * 1024 * 0.5)
    cc.stop()
    scheduler.stop()
  })

  it('reads the base RTT from the @x/health service found by capability', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes, burstTime: 10 })
    const events = new TypedEventEmitter<Libp2pEvents>()
    const cc = new CongestionControl({ enabled: true, targetDelay: 25, sampleInterval: 100 }, scheduler, events, defaultLogger().forComponent('test'), classes)
    const health = { [serviceCapabilities]: ['@x/health'], getConnectionHealth: () => ({ connections: [{ connectionId: 'c1', rtt: { min: 2, samples: 5 } }] }) }
    cc.setHealth(findHealth({ components: { other: {}, health } }))
    cc.start()
    const conn = connection(() => 10)
    cc.bucketFor(conn)
    cc.sent(conn, 1000)
    await clock.tickAsync(150)
    const m = cc.getMetrics()[0]
    expect(m.baseDelay).to.equal(2)
    expect(m.currentDelay).to.equal(10)
    cc.stop()
    scheduler.stop()
  })

  it('does nothing when disabled', () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes, burstTime: 10 })
    const cc = new CongestionControl({ enabled: false, targetDelay: 25, sampleInterval: 100 }, scheduler, new TypedEventEmitter<Libp2pEvents>(), defaultLogger().forComponent('test'), classes)
    cc.start()
    expect(cc.bucketFor(connection(() => 5))).to.be.undefined()
    expect(cc.getMetrics()).to.deep.equal([])
    scheduler.stop()
  })
})
