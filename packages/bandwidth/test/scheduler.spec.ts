import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { Scheduler } from '../src/scheduler.ts'
import { GreedyWriter } from './fixtures/greedy.ts'
import type { SchedulerClassOptions } from '../src/scheduler.ts'

function cls (name: string, options: Partial<SchedulerClassOptions> = {}): SchedulerClassOptions {
  return { name, priority: 0, weight: 1, maxRate: Infinity, minRate: 0, ...options }
}

describe('scheduler (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('holds maxUpload over 10 s', async () => {
    const scheduler = new Scheduler({ maxUpload: 100_000, classes: [cls('default')], burstTime: 10 })
    const writer = new GreedyWriter(scheduler, 'default')
    writer.start()
    await clock.tickAsync(10_000)
    writer.stop()
    scheduler.stop()
    // 1 MB in 10 s, within the first burst and one grant
    expect(writer.sent).to.be.within(1_000_000 - 2048, 1_000_000 + 2048)
  })

  it('gives at once when idle, queues behind a waiting stream of its level', async () => {
    const scheduler = new Scheduler({ maxUpload: 100_000, classes: [cls('default')], burstTime: 10 })
    const first = scheduler.flow('default', [], () => {})
    expect(scheduler.request(first, 500)).to.equal(500)
    // the node bucket (burst 1024) is now at 524: still not in debt
    const second = scheduler.flow('default', [], () => {})
    expect(scheduler.request(second, 2000)).to.equal(1024)
    // in debt now: the third waits
    let woken = false
    const third = scheduler.flow('default', [], () => { woken = true })
    expect(scheduler.request(third, 100)).to.equal(0)
    expect(scheduler.classes.get('default')?.stats.streams).to.equal(1)
    await clock.tickAsync(20)
    expect(woken).to.be.true()
    expect(third.credit).to.equal(100)
    scheduler.stop()
  })

  it('serves strict priority levels: the lower level waits while the higher one can send', async () => {
    const scheduler = new Scheduler({ maxUpload: 100_000, classes: [cls('interactive', { priority: 1 }), cls('bulk')], burstTime: 10 })
    const bulk = new GreedyWriter(scheduler, 'bulk')
    const interactive = new GreedyWriter(scheduler, 'interactive', [], 300_000)
    bulk.start()
    interactive.start()
    await clock.tickAsync(2_000)
    // interactive wanted 300 kB: it got every byte of the first 2 s
    expect(interactive.sent).to.be.within(200_000 - 3000, 200_000 + 3000)
    expect(bulk.sent).to.be.below(3000)
    await clock.tickAsync(3_000)
    expect(interactive.sent).to.equal(300_000)
    // then bulk gets the rest
    expect(bulk.sent).to.be.within(200_000 - 3000, 200_000 + 3000)
    bulk.stop()
    scheduler.stop()
  })

  it('shares a level by weight (deficit round robin)', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes: [cls('a', { weight: 1 }), cls('b', { weight: 3 })], burstTime: 10 })
    const a = new GreedyWriter(scheduler, 'a')
    const b = new GreedyWriter(scheduler, 'b')
    a.start()
    b.start()
    await clock.tickAsync(10_000)
    const total = a.sent + b.sent
    expect(total).to.be.within(10_000_000 - 20_000, 10_000_000 + 20_000)
    expect(b.sent / total).to.be.within(0.74, 0.76)
    a.stop()
    b.stop()
    scheduler.stop()
  })

  it('shares a class equally between its streams', async () => {
    const scheduler = new Scheduler({ maxUpload: 300_000, classes: [cls('bulk')], burstTime: 10 })
    const writers = [0, 1, 2].map(() => new GreedyWriter(scheduler, 'bulk'))
    writers.forEach(w => { w.start() })
    await clock.tickAsync(10_000)

    for (const w of writers) {
      expect(w.sent / 1_000_000).to.be.within(0.98, 1.02)
    }

    writers.forEach(w => { w.stop() })
    scheduler.stop()
  })

  it('shares a class equally even when timers fire late and the bucket catches up', async () => {
    // the scheduler's clock runs ahead of the timers: every 20 ms, 30 ms
    // pass that no timer saw (a busy event loop)
    let lost = 0
    const scheduler = new Scheduler({ maxUpload: 300_000, classes: [cls('bulk')], burstTime: 10, catchUpTime: 250, now: () => performance.now() + lost })
    const writers = [0, 1, 2].map(() => new GreedyWriter(scheduler, 'bulk'))
    writers.forEach(w => { w.start() })

    for (let t = 0; t < 4_000; t += 20) {
      await clock.tickAsync(20)
      lost += 30
    }

    const total = writers.reduce((n, w) => n + w.sent, 0)

    for (const w of writers) {
      expect(w.sent / total).to.be.within(0.32, 0.347)
    }

    writers.forEach(w => { w.stop() })
    scheduler.stop()
  })

  it('gives a class its minRate even under a busy higher level', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes: [cls('high', { priority: 2 }), cls('low', { minRate: 100_000 })], burstTime: 10 })
    const high = new GreedyWriter(scheduler, 'high')
    const low = new GreedyWriter(scheduler, 'low')
    high.start()
    low.start()
    await clock.tickAsync(10_000)
    expect(low.sent).to.be.within(1_000_000 * 0.97, 1_000_000 * 1.03)
    expect(high.sent).to.be.within(9_000_000 * 0.97, 9_000_000 * 1.03)
    high.stop()
    low.stop()
    scheduler.stop()
  })

  it('holds a class maxRate, leaving the rest to others', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes: [cls('high', { priority: 1, maxRate: 200_000 }), cls('low')], burstTime: 10 })
    const high = new GreedyWriter(scheduler, 'high')
    const low = new GreedyWriter(scheduler, 'low')
    high.start()
    low.start()
    await clock.tickAsync(10_000)
    expect(high.sent).to.be.within(2_000_000 * 0.98, 2_000_000 * 1.02)
    expect(low.sent).to.be.within(8_000_000 * 0.98, 8_000_000 * 1.02)
    high.stop()
    low.stop()
    scheduler.stop()
  })

  it('holds a per-peer bucket, other peers take the rest', async () => {
    const scheduler = new Scheduler({ maxUpload: 1_000_000, classes: [cls('bulk')], burstTime: 10 })
    const slowPeer = scheduler.bucket(100_000)
    const slow = new GreedyWriter(scheduler, 'bulk', [slowPeer])
    const fast = new GreedyWriter(scheduler, 'bulk', [scheduler.bucket(Infinity)])
    slow.start()
    fast.start()
    await clock.tickAsync(10_000)
    expect(slow.sent).to.be.within(1_000_000 * 0.98, 1_000_000 * 1.02)
    expect(fast.sent).to.be.within(9_000_000 * 0.98, 9_000_000 * 1.02)
    slow.stop()
    fast.stop()
    scheduler.stop()
  })

  it('forgets a removed flow: nothing wakes it, the queue empties', async () => {
    const scheduler = new Scheduler({ maxUpload: 10_000, classes: [cls('bulk')], burstTime: 10 })
    // the node bucket (1024 B burst) goes 1024 B into debt
    const blocker = scheduler.flow('bulk', [], () => {})
    scheduler.request(blocker, 5000)
    scheduler.consume(blocker, 1024)
    scheduler.request(blocker, 5000)
    scheduler.remove(blocker)
    let woken = 0
    const flow = scheduler.flow('bulk', [], () => { woken++ })
    expect(scheduler.request(flow, 1000)).to.equal(0)
    scheduler.remove(flow)
    expect(scheduler.queued).to.equal(0)
    expect(scheduler.classes.get('bulk')?.stats.bytes).to.equal(0)
    await clock.tickAsync(2000)
    expect(woken).to.equal(0)
    expect(scheduler.request(flow, 1000)).to.equal(0)
    scheduler.stop()
  })

  it('reports the queuing delay of a class', async () => {
    const scheduler = new Scheduler({ maxUpload: 10_000, classes: [cls('bulk')], burstTime: 10 })
    // the node bucket (1024 B burst) goes 1000 B into debt
    const blocker = scheduler.flow('bulk', [], () => {})
    scheduler.request(blocker, 2024)
    scheduler.consume(blocker, 1024)
    scheduler.request(blocker, 1000)
    const flow = scheduler.flow('bulk', [], () => {})
    scheduler.request(flow, 100)
    await clock.tickAsync(1000)
    const stats = scheduler.classes.get('bulk')?.stats
    // 1000 bytes of debt at 10 kB/s
    expect(stats?.lastDelay).to.be.within(100, 101)
    scheduler.stop()
  })
})
