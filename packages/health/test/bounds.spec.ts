/**
 * Bounds and contracts of the service, with stub components and fake time:
 * probes in flight never exceed `maxConcurrentProbes`, busy and relayed
 * connections are probed, sweeps follow the jittered schedule, histories
 * stay bounded, the Prometheus names follow the conventions, the series
 * follow the open connections, and the figures reach `components.metrics`.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
// @ts-expect-error the parser ships no types
import parsePrometheus from 'parse-prometheus-text-format'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { ERROR_HISTORY, EVENT_HISTORY } from '../src/constants.ts'
import { HealthService } from '../src/health.ts'
import type { ConnectionHealthInit } from '../src/index.ts'
import type { ConnectionRecord } from '../src/record.ts'
import type { Connection, Libp2pEvents, Metrics, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

interface Probed {
  inFlight: number
  maxInFlight: number
  calls: Array<{ connection: string, options: any }>
}

/**
 * A connection whose ping streams fail after `ms` of fake time: enough to
 * count how many are open at once without a real muxer
 */
function fakeConnection (id: string, peer: PeerId, probed: Probed, extra: Partial<Connection> = {}, ms = 100): Connection {
  return {
    id,
    remotePeer: peer,
    status: 'open',
    streams: [],
    limits: undefined,
    newStream: async (protocol: string, options: any) => {
      probed.calls.push({ connection: id, options })
      probed.inFlight++
      probed.maxInFlight = Math.max(probed.maxInFlight, probed.inFlight)
      try {
        await new Promise(resolve => setTimeout(resolve, ms))
        throw Object.assign(new Error('stream reset'), { name: 'StreamResetError' })
      } finally {
        probed.inFlight--
      }
    },
    close: async () => {},
    abort: () => {},
    ...extra
  } as unknown as Connection
}

describe('bounds and contracts (stub components, fake time)', () => {
  let clock: sinon.SinonFakeTimers
  let peers: PeerId[]
  let open: Connection[]
  let probed: Probed
  let connectionManager: sinon.SinonStubbedInstance<ConnectionManager>
  let events: TypedEventEmitter<Libp2pEvents>
  const services: HealthService[] = []

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    peers = [
      peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
      peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    ]
    open = []
    probed = { inFlight: 0, maxInFlight: 0, calls: [] }
    connectionManager = stubInterface<ConnectionManager>()
    connectionManager.getConnections.callsFake(() => [...open])
    connectionManager.openConnection.rejects(new Error('no dials in these tests'))
    events = new TypedEventEmitter()
  })

  afterEach(() => {
    for (const health of services.splice(0)) { health.stop() }
    clock.restore()
    sinon.restore()
  })

  function service (init: ConnectionHealthInit = {}, metrics?: Metrics): HealthService {
    const peerStore = stubInterface<PeerStore>()
    peerStore.get.rejects(Object.assign(new Error('not found'), { name: 'NotFoundError' }))
    // started (checkAll does nothing on a stopped service), with no sweep of its own unless a test asks
    const health = new HealthService({ connectionManager, peerStore, events, logger: defaultLogger(), metrics }, { replaceUnhealthy: false, checkInterval: 3_600_000, ...init })
    health.start()
    services.push(health)
    return health
  }

  it('never has more than maxConcurrentProbes probes in flight, and probes every connection of a sweep', async () => {
    const many = await Promise.all(Array.from({ length: 8 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    for (let i = 0; i < 200; i++) {
      open.push(fakeConnection(`c${i}`, many[i % many.length], probed, {}, 50 + (i % 7) * 10))
    }
    const health = service({ maxConcurrentProbes: 4 })

    const sweep = health.checkAll()
    await clock.tickAsync(10_000)
    await sweep

    expect(probed.calls).to.have.lengthOf(200)
    expect(new Set(probed.calls.map(c => c.connection)).size).to.equal(200)
    expect(probed.maxInFlight).to.equal(4)
    expect(health.getNetworkHealthSummary().probeFailures).to.equal(200)
  })

  it('probes one connection of a peer at a time (go allows a peer two inbound ping streams) and keeps other peers going', async () => {
    const other: Probed = { inFlight: 0, maxInFlight: 0, calls: [] }
    for (let i = 0; i < 6; i++) {
      open.push(fakeConnection(`same${i}`, peers[0], probed, {}, 100))
    }
    for (let i = 0; i < 6; i++) {
      open.push(fakeConnection(`other${i}`, peers[1], other, {}, 100))
    }
    const health = service({ maxConcurrentProbes: 8 })

    const sweep = health.checkAll()
    await clock.tickAsync(250)
    // both peers are being probed, one connection each
    expect(probed.calls).to.have.lengthOf(3)
    expect(other.calls).to.have.lengthOf(3)
    await clock.tickAsync(1_000)
    await sweep

    expect(probed.calls.map(c => c.connection)).to.have.members(['same0', 'same1', 'same2', 'same3', 'same4', 'same5'])
    expect(other.calls).to.have.lengthOf(6)
    expect(probed.maxInFlight).to.equal(1)
    expect(other.maxInFlight).to.equal(1)
  })

  it('probes the next connection of a peer once a probe is unanswered for the lease: a dead peer\'s sweep is not one timeout per connection', async () => {
    const started: number[] = []
    for (let i = 0; i < 3; i++) {
      open.push(fakeConnection(`dead${i}`, peers[0], probed, {
        // never answers: fails only when the probe's own timeout aborts it
        newStream: async (protocol: string, options: any) => {
          started.push(Date.now())
          await new Promise((resolve, reject) => { options.signal.addEventListener('abort', () => { reject(options.signal.reason) }) })
        }
      } as any))
    }
    const health = service({ pingTimeout: 5_000 })
    let done = false
    const sweep = health.checkAll().then(() => { done = true })

    await clock.tickAsync(500)
    expect(started).to.have.lengthOf(1) // one at a time while the first is young
    await clock.tickAsync(12_000)
    await sweep

    expect(done).to.equal(true)
    // the third waits for a slot of the two (go's limit); when the first times out (a timeout acts one
    // turn of the loop after its deadline, once sockets were read) the peer is silent, and the third,
    // which waited that whole time and received nothing, fails with it without a stream of its own
    expect(started.map(t => t - started[0])).to.deep.equal([0, 1_000])
    expect(health.getNetworkHealthSummary().probeFailures).to.equal(3)
  })

  it('never has more than two stream probes of a slow but live peer in flight, leases or not (go resets a third inbound ping stream)', async () => {
    const slow = { inFlight: 0, maxInFlight: 0 }
    for (let i = 0; i < 4; i++) {
      open.push(fakeConnection(`slow${i}`, peers[0], probed, {
        // answers, but only after 3 s: longer than the lease, shorter than the timeout
        newStream: async () => {
          slow.inFlight++
          slow.maxInFlight = Math.max(slow.maxInFlight, slow.inFlight)
          await new Promise(resolve => setTimeout(resolve, 3_000))
          slow.inFlight--
          throw Object.assign(new Error('reset'), { name: 'StreamResetError' })
        }
      } as any))
    }
    const health = service({ pingTimeout: 5_000 })
    const sweep = health.checkAll()
    await clock.tickAsync(10_000)
    await sweep

    expect(slow.maxInFlight).to.equal(2)
    expect(health.getNetworkHealthSummary().probeFailures).to.equal(4)
  })

  it('probes busy connections and relayed (limited) ones, allowing the probe on limited connections', async () => {
    const busy = fakeConnection('busy', peers[0], probed, { streams: Array.from({ length: 50 }, () => ({ protocol: '/echo/1.0.0', direction: 'outbound' })) as any })
    const relayed = fakeConnection('relayed', peers[1], probed, { limits: { bytes: 1n << 17n, seconds: 120 } as any })
    open.push(busy, relayed)
    const health = service()
    const sweep = health.checkAll()
    await clock.tickAsync(1_000)
    await sweep

    expect(probed.calls.map(c => c.connection).sort()).to.deep.equal(['busy', 'relayed'])
    expect(probed.calls.every(c => c.options.runOnLimitedConnection === true)).to.equal(true)
    expect(health.getConnectionHealth(peers[1])!.connections[0].limited).to.equal(true)
    expect(health.getConnectionHealth(peers[0])!.connections[0].openStreams).to.equal(50)
  })

  it('sweeps on the jittered schedule: checkInterval x (1 +- checkJitter)', async () => {
    open.push(fakeConnection('c', peers[0], probed, {}, 1))
    // each delay is drawn when the previous timer fires (a fixed rate)
    const random = sinon.stub(Math, 'random')
    random.onFirstCall().returns(0) // the shortest delay: 800 ms
    random.onSecondCall().returns(0.999_999) // the longest: just under 1,200 ms
    random.returns(0.5)
    const health = service({ checkInterval: 1_000, checkJitter: 0.2 })

    health.start()
    await clock.tickAsync(799)
    expect(probed.calls).to.have.lengthOf(0)
    await clock.tickAsync(1)
    expect(probed.calls).to.have.lengthOf(1)

    await clock.tickAsync(1_150)
    expect(probed.calls).to.have.lengthOf(1)
    await clock.tickAsync(100)
    expect(probed.calls).to.have.lengthOf(2)

    health.stop()
    health.stop() // idempotent
    await clock.tickAsync(10_000)
    expect(probed.calls).to.have.lengthOf(2)
  })

  it('keeps at most ERROR_HISTORY errors and EVENT_HISTORY lifecycle events per connection, newest last', () => {
    const conn = fakeConnection('c', peers[0], probed)
    open.push(conn)
    const health = service()
    const record: ConnectionRecord = (health as any).track(conn)

    for (let i = 0; i < 500; i++) {
      record.probeFailed(`E${i}`, Date.now() + i)
      record.streamOutcome(false, `S${i}`, Date.now() + i)
      record.event(i % 2 === 0 ? 'degraded' : 'recovered', Date.now() + i)
    }

    expect(record.errors).to.have.lengthOf(ERROR_HISTORY)
    expect(record.events).to.have.lengthOf(EVENT_HISTORY)
    expect(record.errors[ERROR_HISTORY - 1]).to.include({ kind: 'stream', name: 'S499' })
    expect(record.events[EVENT_HISTORY - 1].event).to.equal('recovered')
    const report = health.getConnectionHealth(peers[0])!.connections[0]
    expect(report.errors).to.have.lengthOf(ERROR_HISTORY)
    expect(report.streamsFailed).to.equal(500)
    expect(report.rtt).to.equal(undefined)
  })

  it('counts the pool\'s stream outcomes on the connection they name, where its newStream cannot be observed', () => {
    // frozen: the stream tap cannot wrap newStream, so pool:stream is the only source
    const a = Object.freeze(fakeConnection('a', peers[0], probed))
    const b = Object.freeze(fakeConnection('b', peers[0], probed))
    open.push(a, b)
    const health = service()
    health.start()
    ;(health as any).track(a)
    ;(health as any).track(b)

    events.safeDispatchEvent('pool:stream', { detail: { peer: peers[0], connectionId: 'a', protocol: '/echo/1.0.0', outcome: 'opened' } as any })
    events.safeDispatchEvent('pool:stream', { detail: { peer: peers[0], connectionId: 'a', protocol: '/echo/1.0.0', outcome: 'failed', error: 'StreamResetError' } as any })
    events.safeDispatchEvent('pool:stream', { detail: { peer: peers[0], connectionId: 'b', protocol: '/echo/1.0.0', outcome: 'opened' } as any })
    events.safeDispatchEvent('pool:stream', { detail: { peer: peers[0], connectionId: 'gone', protocol: '/echo/1.0.0', outcome: 'failed' } as any })

    const reports = health.getConnectionHealth(peers[0])!.connections
    const byId = Object.fromEntries(reports.map(r => [r.connectionId, r]))
    expect(byId.a).to.include({ streamsOpened: 1, streamsFailed: 1 })
    expect(byId.a.errors.map(e => e.name)).to.deep.equal(['StreamResetError'])
    expect(byId.b).to.include({ streamsOpened: 1, streamsFailed: 0 })
    health.stop()
  })

  it('names Prometheus families by convention and keeps one series per open connection', () => {
    const conns = Array.from({ length: 3 }, (_, i) => fakeConnection(`c${i}`, peers[i % 2], probed))
    open.push(...conns)
    const health = service()
    health.start()
    for (const conn of conns) {
      const record: ConnectionRecord = (health as any).track(conn)
      record.probeSucceeded(20)
      record.bytes.add('in', 100, Date.now())
    }

    let families = parsePrometheus(health.exportHealthMetrics('prometheus'))
    expect(families).to.not.be.empty()
    for (const family of families) {
      expect(family.help, family.name).to.be.a('string').that.is.not.empty()
      expect(family.name).to.match(/^x_health_[a-z_]+$/)
      // `_total` on counters and only there; units spelled out
      expect(family.name.endsWith('_total'), family.name).to.equal(family.type === 'COUNTER')
      expect(family.name, family.name).to.not.match(/_(ms|milliseconds|kb|mb)(_|$)/)

      for (const metric of family.metrics) {
        expect(Object.keys(metric.labels ?? {}).every(l => l === 'peer' || l === 'connection'), family.name).to.equal(true)
      }
    }

    const perConnection = families.filter((f: any) => f.metrics.some((m: any) => m.labels?.connection != null))
    expect(perConnection.length).to.be.greaterThan(3)
    for (const family of perConnection) {
      expect(family.metrics, family.name).to.have.lengthOf(3)
    }

    // a closed connection's series go with it
    events.safeDispatchEvent('connection:close', { detail: conns[1] })
    families = parsePrometheus(health.exportHealthMetrics('prometheus'))
    for (const family of families.filter((f: any) => perConnection.some((p: any) => p.name === f.name))) {
      expect(family.metrics.map((m: any) => m.labels.connection).sort(), family.name).to.deep.equal(['c0', 'c2'])
    }
    health.stop()
  })

  it('registers the same summary and counters with components.metrics', async () => {
    const groups = new Map<string, { calculate(): Record<string, number> }>()
    const metrics = stubInterface<Metrics>()
    metrics.registerMetricGroup.callsFake((name: string, options: any) => { groups.set(name, options); return undefined as any })
    metrics.registerCounterGroup.callsFake((name: string, options: any) => { groups.set(name, options); return undefined as any })
    const conn = fakeConnection('c', peers[0], probed)
    open.push(conn)
    const health = service({}, metrics)

    const sweep = health.checkAll()
    await clock.tickAsync(1_000)
    await sweep

    const summary = health.getNetworkHealthSummary()
    const gauges = [...groups.entries()].find(([name]) => !name.endsWith('_total'))
    const counters = [...groups.entries()].find(([name]) => name.endsWith('_total'))
    expect(gauges, 'a gauge group').to.exist()
    expect(counters, 'a counter group').to.exist()
    expect(metrics.registerCounterGroup.calledWith(counters![0])).to.equal(true)
    expect(Object.values(gauges![1].calculate())).to.include.members([summary.peers, summary.connections, summary.averageScore])
    expect(Object.values(counters![1].calculate())).to.include.members([summary.probes, summary.probeFailures])
    expect(summary.probes).to.equal(1)
  })
})
