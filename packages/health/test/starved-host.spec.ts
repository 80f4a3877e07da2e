/**
 * This host starved (issue 12 item 14): when our own event loop is stalled
 * (other processes saturate the cores), an answer that came late because
 * of us is not the connection's failure. The stall is injected through
 * `loopLag`; time is faked.
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { TimerLoopLag } from '../src/loop-lag.ts'
import { ConnectionRecord } from '../src/record.ts'
import { fakeConnection, harness, newPeer } from './fixtures/fake-connections.ts'
import type { LoopLag } from '../src/loop-lag.ts'
import type { FakeConnection } from './fixtures/fake-connections.ts'

const INTERVAL = 3_000
const TIMEOUT = 1_000
const CHECKS = 3

/** A process that runs `awake` of every ms of wall time: the rest is stall */
function starved (awake: number): LoopLag {
  const start = Date.now()
  return {
    now: () => Date.now(),
    stalled: () => (Date.now() - start) * (1 - awake),
    hold: () => () => {}
  }
}

describe('a starved host (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  /** `maxPingLatency` far above the RTTs: only timeouts can make these connections unhealthy */
  async function run (probe: 'muxer' | 'stream', rtt: number | undefined, lag?: LoopLag): Promise<{ conn: FakeConnection, health: any }> {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conn = fakeConnection(peer, h.open, { muxer: probe === 'muxer', rtt })
    h.open.push(conn)
    const health = h.service({ probe, checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS, minConnectionsPerPeer: 0, maxPingLatency: 100 * TIMEOUT, ...(lag != null ? { loopLag: lag } : {}) })
    health.start()
    return { conn, health }
  }

  const probes = ['muxer', 'stream'] as const

  probes.forEach(probe => {
    it(`${probe} probes: a live connection answering after 1.5 x pingTimeout because this process ran 40 % of the time is not failed, replaced or closed`, async () => {
      const { conn, health } = await run(probe, 1.5 * TIMEOUT, starved(0.4))
      await clock.tickAsync(10 * INTERVAL)

      const summary = health.getNetworkHealthSummary()
      expect(conn.status).to.equal('open')
      expect(summary.probeFailures).to.equal(0)
      expect(summary.replacements).to.equal(0)
      expect(summary.probes).to.be.at.least(9)
      const report = health.getConnectionHealth(conn.remotePeer).connections[0]
      expect(report.rtt.last).to.equal(1.5 * TIMEOUT)
      health.stop()
    })

    it(`${probe} probes: a dead connection on a starved host is still closed, at most one check later`, async () => {
      const { conn, health } = await run(probe, undefined, starved(0.4))
      let closedAt: number | undefined
      const start = Date.now()

      while (closedAt == null && Date.now() - start < 10 * INTERVAL) {
        await clock.tickAsync(100)
        if (conn.status !== 'open') { closedAt = Date.now() - start }
      }

      // dead from the start: on an idle host its fourth failed check (at 4 x INTERVAL + TIMEOUT) closes
      // it; here the first timeout is excused (one check later) and each waits up to 2 x TIMEOUT
      expect(closedAt, 'closed').to.be.a('number')
      expect(closedAt).to.be.at.most((CHECKS + 1) * INTERVAL + TIMEOUT + INTERVAL + TIMEOUT + 100)
      const summary = health.getNetworkHealthSummary()
      expect(summary.probesStalled).to.equal(1)
      expect(health.exportHealthMetrics('prometheus')).to.include('x_health_probes_stalled_total 1')
      health.stop()
    })
  })

  it('a connection slow only because this process was stalled is not scored slow: no replacement', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conn = fakeConnection(peer, h.open, { muxer: true, rtt: 1.5 * TIMEOUT })
    h.open.push(conn)
    // the default maxPingLatency (1 s): 1.5 s would be slow, 0.6 s of it awake is not
    const health = h.service({ checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS, minConnectionsPerPeer: 0, loopLag: starved(0.4) })
    health.start()
    await clock.tickAsync(10 * INTERVAL)

    const report = health.getConnectionHealth(conn.remotePeer)!.connections[0]
    expect(report.rtt?.last, 'the RTT reported is the one measured').to.equal(1.5 * TIMEOUT)
    expect(report.state).to.equal('healthy')
    expect(health.getNetworkHealthSummary().replacements).to.equal(0)
    expect(h.connectionManager.openConnection.callCount).to.equal(0)
    health.stop()
  })

  it('without a stall, a timeout is a failure at pingTimeout, as before', async () => {
    const { conn, health } = await run('muxer', undefined, starved(1))
    await clock.tickAsync(INTERVAL + TIMEOUT + 10)
    expect(conn.muxerPings).to.have.lengthOf(1)
    const summary = health.getNetworkHealthSummary()
    expect(summary.probeFailures).to.equal(1)
    expect(summary.probesStalled).to.equal(0)
    health.stop()
  })

  it('an answer after a stall resets the excuse: every isolated stalled timeout is excused', async () => {
    const peer = await newPeer()
    const record = new ConnectionRecord(fakeConnection(peer, [], {}), Date.now())
    record.stallsInARow = 1
    record.probeSucceeded(5, 'muxer')
    expect(record.stallsInARow).to.equal(0)
  })

  it('rejects a loopLag without now(), stalled() and hold()', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    expect(() => h.service({ loopLag: {} as any })).to.throw().with.property('name', 'InvalidHealthOptionError')
  })

  it('TimerLoopLag counts timer drift beyond its tolerance while held, and nothing while not held', async () => {
    const lag = new TimerLoopLag()
    const release = lag.hold()
    await clock.tickAsync(500)
    expect(lag.stalled()).to.equal(0)

    // the loop wakes up 700 ms late: Date moves on, no timer ran meanwhile
    clock.setSystemTime(Date.now() + 700)
    expect(lag.stalled()).to.be.within(650, 700)
    await clock.tickAsync(60)
    const stalled = lag.stalled()
    expect(stalled).to.be.within(650, 700)
    release()

    clock.setSystemTime(Date.now() + 700)
    await clock.tickAsync(500)
    expect(lag.stalled()).to.equal(stalled)
  })
})
