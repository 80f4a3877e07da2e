/**
 * The findings of the review (issue 12, items 9 to 15), each pinned down
 * with stub components and fake time.
 */
import { serviceDependencies } from '@libp2p/interface'
import { expect } from 'aegir/chai'
// @ts-expect-error the parser ships no types
import parsePrometheus from 'parse-prometheus-text-format'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { FUTILE_HOLD } from '../src/constants.ts'
import { fakeConnection, harness, newPeer } from './fixtures/fake-connections.ts'
import type { FakeConnection, Harness } from './fixtures/fake-connections.ts'
import type { HealthService } from '../src/health.ts'
import type { ConnectionRecord } from '../src/record.ts'
import type { Metrics, PeerId } from '@libp2p/interface'

describe('review findings (stub components, fake time)', () => {
  let clock: sinon.SinonFakeTimers
  let peer: PeerId
  let h: Harness
  let health: HealthService | undefined

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    peer = await newPeer()
    h = harness(() => peer)
  })

  afterEach(() => {
    health?.stop()
    health = undefined
    clock.restore()
    sinon.restore()
  })

  function track (service: HealthService, conn: FakeConnection): ConnectionRecord {
    return (service as any).track(conn)
  }

  function check (service: HealthService, record: ConnectionRecord, ok: boolean, rtt = 20): void {
    if (ok) { record.probeSucceeded(rtt) } else { record.probeFailed('TimeoutError', Date.now()) }
    service.evaluate(record, Date.now())
  }

  async function sweep (service: HealthService): Promise<void> {
    const done = service.checkAll()
    await clock.tickAsync(10_000)
    await done
  }

  describe('9: protocol prefix, and a remote that does not speak ping', () => {
    it('probes /<protocolPrefix>/ping/1.0.0', async () => {
      const conn = fakeConnection(peer, h.open)
      h.open.push(conn)
      health = h.service({ probe: 'stream', protocolPrefix: 'x' } as any)
      health.start()
      await sweep(health)
      expect(conn.opened).to.deep.equal(['/x/ping/1.0.0'])
    })

    it('shows in the report and the summary that the remote does not speak ping', async () => {
      const conn = fakeConnection(peer, h.open, { streamError: 'UnsupportedProtocolError' })
      h.open.push(conn)
      health = h.service({ probe: 'stream' } as any)
      health.start()
      await sweep(health)
      const report: any = health.getConnectionHealth(peer)!.connections[0]
      expect(report.pingUnsupported).to.equal(true)
      expect(report.probe).to.equal('negotiation')
      expect((health.getNetworkHealthSummary() as any).pingUnsupported).to.equal(1)
    })
  })

  describe('10: stop means stop', () => {
    it('checkAll() after stop() creates no record and opens no stream', async () => {
      const conn = fakeConnection(peer, h.open, { rtt: 10 })
      h.open.push(conn)
      health = h.service({ probe: 'stream' } as any)
      health.start()
      health.stop()
      await sweep(health)
      expect((health as any).records.size).to.equal(0)
      expect(conn.opened).to.be.empty()
    })

    it('a replacement waiting for its streams to drain neither closes nor counts after stop()', async () => {
      health = h.service({ unhealthyChecksBeforeReplace: 2, maxPingLatency: 100, replaceGrace: 10_000 })
      health.start()
      const slow = fakeConnection(peer, h.open)
      ;(slow as any).streams = [{ protocol: '/echo/1.0.0', direction: 'outbound' }]
      h.open.push(slow, fakeConnection(peer, h.open))
      const record = track(health, slow)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(1_000)
      expect(h.connectionManager.openConnection.callCount).to.equal(1)

      health.stop()
      await clock.tickAsync(20_000)
      expect(slow.status).to.equal('open')
      expect(health.replacements).to.equal(0)
    })

    it('stop() aborts a replacement dial in flight', async () => {
      const signals: AbortSignal[] = []
      h.connectionManager.openConnection.callsFake(async (_peer, options) => {
        signals.push(options!.signal!)
        return new Promise(() => {})
      })
      health = h.service({ unhealthyChecksBeforeReplace: 2, maxPingLatency: 100 })
      health.start()
      const slow = fakeConnection(peer, h.open)
      h.open.push(slow)
      const record = track(health, slow)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      expect(signals).to.have.lengthOf(1)
      expect(signals[0].aborted).to.equal(false)
      health.stop()
      expect(signals[0].aborted).to.equal(true)
    })
  })

  describe('11: no Node-only API on the probe path', () => {
    it('a stream probe works where there is no Buffer (browsers)', async () => {
      const conn = fakeConnection(peer, h.open, { rtt: 10 })
      h.open.push(conn)
      health = h.service({ probe: 'stream' } as any)
      health.start()
      const buffer = globalThis.Buffer
      try {
        Reflect.set(globalThis, 'Buffer', undefined)
        await sweep(health)
      } finally {
        globalThis.Buffer = buffer
      }
      const report = health.getConnectionHealth(peer)!.connections[0]
      expect(report.probeFailures).to.equal(0)
      expect(report.rtt?.samples).to.equal(1)
    })
  })

  describe('12: probe limits', () => {
    it('a probe skipped because another ping is in flight is not a check: a degraded connection does not move on to unhealthy', async () => {
      const conn = fakeConnection(peer, h.open, { streamError: 'TooManyOutboundProtocolStreamsError' })
      ;(conn as any).streams = [{ protocol: '/ipfs/ping/1.0.0', direction: 'outbound' }]
      h.open.push(conn, fakeConnection(peer, h.open))
      health = h.service({ probe: 'stream', unhealthyChecksBeforeReplace: 2 } as any)
      health.start()
      const record = track(health, conn)
      check(health, record, false)
      check(health, record, false)
      expect(record.state).to.equal('degraded')
      expect(record.unhealthyChecks).to.equal(1)

      for (let i = 0; i < 3; i++) { await sweep(health) }
      expect(record.probesSkipped).to.equal(3)
      expect(record.unhealthyChecks).to.equal(1)
      expect(record.state).to.equal('degraded')
      expect(conn.status).to.equal('open')
    })

    it('the muxer\'s own stream cap is not filed as "another ping in flight"', async () => {
      // no other ping stream on the connection: the local muxer refused any new stream
      const conn = fakeConnection(peer, h.open, { streamError: 'TooManyOutboundProtocolStreamsError' })
      h.open.push(conn)
      health = h.service({ probe: 'stream' } as any)
      health.start()
      await sweep(health)
      const report: any = health.getConnectionHealth(peer)!.connections[0]
      expect(report.probesSkipped).to.equal(0)
      expect(report.probesBlocked).to.equal(1)
      expect(report.errors.map((e: any) => e.name)).to.deep.equal(['TooManyOutboundProtocolStreamsError'])
    })

    it('the probe does not pass a maxOutboundStreams that the local ping handler would overrule', async () => {
      const options: any[] = []
      const conn = fakeConnection(peer, h.open, { rtt: 10 })
      const newStream = conn.newStream
      conn.newStream = (async (protocol: string, opts: any) => { options.push(opts); return newStream(protocol, opts) }) as any
      h.open.push(conn)
      health = h.service({ probe: 'stream' } as any)
      health.start()
      await sweep(health)
      expect(options).to.have.lengthOf(1)
      expect(options[0]).to.not.have.property('maxOutboundStreams')
    })
  })

  describe('13: stability, protection, named aborts', () => {
    it('stability falls to 0 at twice maxFailedStreams, also for maxFailedStreams >= 32', () => {
      health = h.service({ maxFailedStreams: 32 })
      const record = track(health, fakeConnection(peer, h.open))
      for (let i = 0; i < 64; i++) { record.streamOutcome(false, 'StreamResetError', Date.now()) }
      expect(health.snapshot(record, Date.now()).stability).to.equal(0)
    })

    it('a peer-store error leaves the connection alone (fails closed)', async () => {
      h.peerStore.get.rejects(new Error('datastore unavailable'))
      health = h.service({ unhealthyChecksBeforeReplace: 2 })
      const dead = fakeConnection(peer, h.open)
      h.open.push(dead, fakeConnection(peer, h.open))
      const record = track(health, dead)
      for (let i = 0; i < 4; i++) { check(health, record, false) }
      await clock.tickAsync(10)
      expect(dead.status).to.equal('open')
    })

    it('a dead connection is aborted with a named error', async () => {
      health = h.service({ unhealthyChecksBeforeReplace: 2 })
      const dead = fakeConnection(peer, h.open)
      h.open.push(dead, fakeConnection(peer, h.open))
      const record = track(health, dead)
      for (let i = 0; i < 4; i++) { check(health, record, false) }
      await clock.tickAsync(10)
      expect(dead.status).to.equal('closed')
      expect((dead.abort as sinon.SinonStub).firstCall.args[0]).to.have.property('name', 'DeadConnectionError')
    })
  })

  describe('14: a replacement must pay off', () => {
    it('a replacement no better than the one it replaced is counted futile and holds further replacements of the peer back, doubling', async () => {
      h = harness(() => peer, () => ({ rtt: 400 }))
      health = h.service({ unhealthyChecksBeforeReplace: 2, maxPingLatency: 100, checkInterval: 1_000, replaceGrace: 0 })
      health.start()
      const first = fakeConnection(peer, h.open)
      h.open.push(first)
      let record = track(health, first)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      expect(first.status).to.equal('closed')
      expect(h.connectionManager.openConnection.callCount).to.equal(1)

      // the replacement is just as slow: the path or the remote is slow, not the connection
      const second = h.open[0] as FakeConnection
      record = track(health, second)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      expect((health.getNetworkHealthSummary() as any).futileReplacements).to.equal(1)

      // held back: unhealthy checks go on, no new dial
      for (let i = 0; i < 5; i++) { check(health, record, true, 400); await clock.tickAsync(10) }
      expect(h.connectionManager.openConnection.callCount).to.equal(1)
      expect(second.status).to.equal('open')

      // after the hold, one more try; futile again, the hold doubles
      let waited = 0
      while (h.connectionManager.openConnection.callCount === 1 && waited < 120_000) {
        await clock.tickAsync(500)
        waited += 500
        check(health, record, true, 400)
      }
      await clock.tickAsync(10)
      expect(h.connectionManager.openConnection.callCount).to.equal(2)
      // at most one futile replacement of a peer a minute
      expect(waited).to.be.at.least(59_000)
      const third = h.open[0] as FakeConnection
      record = track(health, third)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      expect((health.getNetworkHealthSummary() as any).futileReplacements).to.equal(2)

      let waitedAgain = 0
      while (h.connectionManager.openConnection.callCount === 2 && waitedAgain < 240_000) {
        await clock.tickAsync(500)
        waitedAgain += 500
        check(health, record, true, 400)
      }
      // the second hold is twice the first's length (FUTILE_HOLD), not twice the time the first was
      // seen to end: that moved by a tick or two with the host's load (61 s once, in a CI run)
      expect(waitedAgain).to.be.at.least(2 * FUTILE_HOLD - 1_000)
    })

    it('several connections of one peer degrading together on a loaded host: at most one replacement of the peer per minute', async () => {
      // a loaded host: every connection of the peer, old or new, answers in 400 ms
      h = harness(() => peer, () => ({ rtt: 400 }))
      health = h.service({ unhealthyChecksBeforeReplace: 3, maxPingLatency: 100, checkInterval: 1_000, replaceGrace: 0 })
      health.start()

      for (let i = 0; i < 3; i++) { h.open.push(fakeConnection(peer, h.open)) }

      // three minutes of checks, a check of every open connection each second
      const dialsAt: number[] = []
      const start = Date.now()
      h.connectionManager.openConnection.callsFake(async () => {
        dialsAt.push(Date.now() - start)
        const conn = fakeConnection(peer, h.open)
        h.open.push(conn)
        return conn
      })

      for (let t = 0; t < 180; t++) {
        for (const conn of [...h.open]) { check(health, track(health, conn as FakeConnection), true, 400) }
        await clock.tickAsync(1_000)
      }

      // requests keep their connections: the peer never drops below three
      expect(h.open).to.have.lengthOf(3)
      expect(dialsAt.length).to.be.at.least(1)
      for (let minute = 0; minute < 3; minute++) {
        expect(dialsAt.filter(at => at >= minute * 60_000 && at < (minute + 1) * 60_000), `replacements in minute ${minute + 1}: ${dialsAt.join(', ')}`).to.have.length.at.most(1)
      }
      expect((health.getNetworkHealthSummary() as any).futileReplacements).to.be.at.least(1)
    })

    it('when the peer\'s other connections are unhealthy too, a replacement faster than the one replaced but still unhealthy is futile', async () => {
      h = harness(() => peer, () => ({ rtt: 300 }))
      health = h.service({ unhealthyChecksBeforeReplace: 2, maxPingLatency: 100, replaceGrace: 0 })
      health.start()
      const first = fakeConnection(peer, h.open)
      const sibling = fakeConnection(peer, h.open)
      h.open.push(first, sibling)
      // degraded, not yet unhealthy
      const siblingRecord = track(health, sibling)
      check(health, siblingRecord, true, 400)
      expect(siblingRecord.state).to.equal('degraded')
      let record = track(health, first)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      expect(first.status).to.equal('closed')

      // 300 ms: 25 % faster than the 400 ms it replaced, as slow as a loaded host makes everything
      record = track(health, h.open.find(c => c !== sibling) as FakeConnection)
      for (let i = 0; i < 3; i++) { check(health, record, true, 300) }
      expect((health.getNetworkHealthSummary() as any).futileReplacements).to.equal(1)
    })

    it('a replacement that is better clears the hold and counts no futile replacement', async () => {
      h = harness(() => peer, () => ({ rtt: 20 }))
      health = h.service({ unhealthyChecksBeforeReplace: 2, maxPingLatency: 100, replaceGrace: 0 })
      health.start()
      const first = fakeConnection(peer, h.open)
      h.open.push(first)
      let record = track(health, first)
      for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
      await clock.tickAsync(10)
      record = track(health, h.open[0] as FakeConnection)
      for (let i = 0; i < 3; i++) { check(health, record, true, 20) }
      expect((health.getNetworkHealthSummary() as any).futileReplacements).to.equal(0)
    })
  })

  describe('15: dependencies and metric names', () => {
    it('declares its service dependencies', () => {
      health = h.service()
      expect((health as any)[serviceDependencies]).to.be.an('array')
    })

    it('prefixes every metric with metricsPrefix, in the text export and in components.metrics', async () => {
      const names: string[] = []
      const metrics = stubInterface<Metrics>()
      metrics.registerMetricGroup.callsFake((name: string) => { names.push(name); return undefined as any })
      metrics.registerCounterGroup.callsFake((name: string) => { names.push(name); return undefined as any })
      const conn = fakeConnection(peer, h.open, { rtt: 10 })
      h.open.push(conn)
      health = h.service({ metricsPrefix: 'y_health_' } as any, metrics)
      health.start()
      await sweep(health)

      const families = parsePrometheus(health.exportHealthMetrics('prometheus'))
      expect(families.length).to.be.greaterThan(5)
      for (const family of families) {
        expect(family.name).to.match(/^y_health_/)
      }
      expect(names.length).to.be.greaterThan(5)
      for (const name of names) {
        expect(name).to.match(/^y_health_/)
      }
    })

    it('rejects a metricsPrefix Prometheus would not accept', () => {
      expect(() => h.service({ metricsPrefix: 'bad prefix' } as any)).to.throw().with.property('name', 'InvalidHealthOptionError')
    })
  })
})
