import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { HealthService } from '../src/health.ts'
import type { ConnectionHealthInit } from '../src/index.ts'
import type { ConnectionRecord } from '../src/record.ts'
import type { Connection, Libp2pEvents, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ConnectionHealthSnapshot } from '@x/interface'

let nextId = 0

function fakeConnection (peer: PeerId, open: Connection[]): Connection {
  const conn: any = {
    id: `c${nextId++}`,
    remotePeer: peer,
    status: 'open',
    streams: [],
    limits: undefined,
    close: sinon.stub().callsFake(async () => { conn.status = 'closed'; open.splice(open.indexOf(conn), 1) }),
    abort: sinon.stub().callsFake(() => { conn.status = 'closed'; open.splice(open.indexOf(conn), 1) })
  }
  return conn
}

describe('health rules (fake time)', () => {
  let clock: sinon.SinonFakeTimers
  let peer: PeerId
  let open: Connection[]
  let connectionManager: sinon.SinonStubbedInstance<ConnectionManager>
  let peerStore: sinon.SinonStubbedInstance<PeerStore>
  let events: TypedEventEmitter<Libp2pEvents>
  let reported: ConnectionHealthSnapshot[]

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    open = []
    connectionManager = stubInterface<ConnectionManager>()
    connectionManager.getConnections.callsFake(() => [...open])
    connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, open)
      open.push(conn)
      return conn
    })
    peerStore = stubInterface<PeerStore>()
    peerStore.get.rejects(Object.assign(new Error('not found'), { name: 'NotFoundError' }))
    events = new TypedEventEmitter()
    reported = []
    events.addEventListener('connection:health', (evt) => { reported.push(evt.detail) })
  })

  afterEach(() => {
    clock.restore()
  })

  function service (init: ConnectionHealthInit = {}): HealthService {
    return new HealthService({ connectionManager, peerStore, events, logger: defaultLogger() }, { replaceGrace: 0, ...init })
  }

  function track (health: HealthService, conn: Connection): ConnectionRecord {
    return (health as any).track(conn)
  }

  function check (health: HealthService, record: ConnectionRecord, ok: boolean, rtt = 20): void {
    if (ok) { record.probeSucceeded(rtt) } else { record.probeFailed('TimeoutError', Date.now()) }
    health.evaluate(record, Date.now())
  }

  it('one failed probe never degrades a healthy connection', () => {
    const health = service()
    const record = track(health, fakeConnection(peer, open))
    for (let i = 0; i < 10; i++) { check(health, record, true) }
    check(health, record, false)
    expect(record.state).to.equal('healthy')
  })

  it('degrades a silent connection within two probes, then closes it as dead', async () => {
    const health = service({ unhealthyChecksBeforeReplace: 3, minConnectionsPerPeer: 1 })
    const bad = fakeConnection(peer, open)
    open.push(bad, fakeConnection(peer, open))
    const record = track(health, bad)
    check(health, record, false)
    expect(record.state).to.equal('healthy')
    check(health, record, false)
    expect(record.state).to.equal('degraded')
    check(health, record, false)
    check(health, record, false)
    expect(record.state).to.equal('unhealthy')
    await clock.tickAsync(10)

    // dead: closed at once, no replacement dialled first
    expect(connectionManager.openConnection.callCount).to.equal(0)
    expect(bad.status).to.equal('closed')
    expect(health.replacements).to.equal(1)
    expect(reported.map(r => r.state)).to.include.members(['degraded', 'unhealthy'])
  })

  it('replaces a slow but live connection by dialling first, keeping the minimum', async () => {
    const health = service({ unhealthyChecksBeforeReplace: 2, minConnectionsPerPeer: 1, maxPingLatency: 100 })
    const slow = fakeConnection(peer, open)
    open.push(slow)
    const record = track(health, slow)
    for (let i = 0; i < 3; i++) { check(health, record, true, 400) }
    await clock.tickAsync(10)

    expect(connectionManager.openConnection.callCount).to.equal(1)
    expect(connectionManager.openConnection.firstCall.args[1]).to.have.property('force', true)
    expect(slow.status).to.equal('closed')
    expect(open).to.have.lengthOf(1)
    expect(open[0]).to.not.equal(slow)
  })

  it('keeps an unhealthy connection that still carries streams when it is the last one', async () => {
    const health = service({ unhealthyChecksBeforeReplace: 2, minConnectionsPerPeer: 1 })
    connectionManager.openConnection.rejects(new Error('unreachable'))
    const slow = fakeConnection(peer, open)
    open.push(slow)
    const record = track(health, slow)
    for (let i = 0; i < 5; i++) {
      record.streamOutcome(true, undefined, Date.now())
      check(health, record, true, 5_000)
    }
    await clock.tickAsync(10)
    expect(record.state).to.equal('unhealthy')
    expect(slow.status).to.equal('open')
  })

  it('holds replacement dials back, doubling, while they keep failing, and dials again once one succeeds', async () => {
    const health = service({ unhealthyChecksBeforeReplace: 2, minConnectionsPerPeer: 1, maxPingLatency: 100, checkInterval: 1_000 })
    connectionManager.openConnection.rejects(new Error('unreachable'))
    const slow = fakeConnection(peer, open)
    open.push(slow)
    const record = track(health, slow)

    // 40 checks of a slow, live, last connection whose peer cannot be re-dialled
    for (let i = 0; i < 40; i++) {
      check(health, record, true, 400)
      await clock.tickAsync(1_000)
    }

    // dials at checks 2, 4, 8, 16, 32 (hold of 2 s, 4 s, 8 s, 16 s): not one per check
    expect(connectionManager.openConnection.callCount).to.equal(5)
    expect(slow.status).to.equal('open')

    // the peer becomes reachable: the next allowed dial replaces the connection
    connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, open)
      open.push(conn)
      return conn
    })
    for (let i = 0; i < 40 && slow.status === 'open'; i++) {
      check(health, record, true, 400)
      await clock.tickAsync(1_000)
    }
    expect(slow.status).to.equal('closed')
    expect(open).to.have.lengthOf(1)
  })

  it('closes a dead last connection and re-dials its peer', async () => {
    const health = service({ unhealthyChecksBeforeReplace: 2, checkInterval: 1000 })
    health.start()
    connectionManager.openConnection.onFirstCall().rejects(new Error('unreachable'))
    const dead = fakeConnection(peer, open)
    open.push(dead)
    const record = track(health, dead)
    for (let i = 0; i < 4; i++) { check(health, record, false) }
    await clock.tickAsync(10)
    expect(dead.status).to.equal('closed')

    // the first re-dial fails (the peer is still away), the next one works
    events.safeDispatchEvent('connection:close', { detail: dead })
    await clock.tickAsync(10)
    expect(connectionManager.openConnection.callCount).to.equal(1)
    await clock.tickAsync(1_000)
    expect(connectionManager.openConnection.callCount).to.equal(2)
    expect(open).to.have.lengthOf(1)
    health.stop()
  })

  it('never touches protected peers', async () => {
    peerStore.get.resolves({ tags: new Map([['x-health-protected', { value: 1 }]]) } as any)
    const health = service({ unhealthyChecksBeforeReplace: 1 })
    const bad = fakeConnection(peer, open)
    open.push(bad, fakeConnection(peer, open))
    const record = track(health, bad)
    for (let i = 0; i < 5; i++) { check(health, record, false) }
    await clock.tickAsync(10)
    expect(bad.status).to.equal('open')
    expect(connectionManager.openConnection.callCount).to.equal(0)
  })

  /**
   * 2,000 checks with a fixed, scattered 5% of probes lost, one `tickMs`
   * apart; counts the losses and the outages (three lost in a row is
   * silence for three intervals: an outage by design, not noise)
   */
  async function lossyChecks (health: HealthService, record: ConnectionRecord, seed: number, tickMs: number): Promise<{ lost: number, outages: number }> {
    const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
    let lost = 0
    let run = 0
    let outages = 0
    for (let i = 0; i < 2_000; i++) {
      const ok = random() >= 0.05
      if (!ok) { lost++ }
      run = ok ? 0 : run + 1
      if (run === 3) { outages++ }
      check(health, record, ok)
      await clock.tickAsync(tickMs)
    }
    return { lost, outages }
  }

  it('5% randomly lost probes cause no replacement over 2,000 checks, except after 3 lost in a row', async function () {
    this.timeout(60_000)
    const health = service()
    const conn = fakeConnection(peer, open)
    open.push(conn, fakeConnection(peer, open))
    const record = track(health, conn)
    const { lost, outages } = await lossyChecks(health, record, 42, 10_000)
    expect(lost).to.be.within(60, 140)
    expect(health.replacements).to.be.at.most(outages)
    expect(outages).to.be.at.most(1)
  })

  it('5% randomly lost probes at a 1 s interval cause no replacement: probe loss is not counted twice as instability', async function () {
    this.timeout(60_000)
    const health = service({ checkInterval: 1_000 })
    const conn = fakeConnection(peer, open)
    open.push(conn, fakeConnection(peer, open))
    const record = track(health, conn)
    const { outages } = await lossyChecks(health, record, 7, 1_000)
    // about 15 lost probes in every 5 minute window, yet stability untouched
    expect(record.probeFailures).to.be.within(60, 140)
    expect(health.snapshot(record, Date.now()).stability).to.equal(1)
    expect(health.replacements).to.be.at.most(outages)
    expect(outages).to.be.at.most(1)
  })

  it('failed streams lower stability: half at maxFailedStreams in the window, and they age out', () => {
    const health = service({ maxFailedStreams: 4 })
    const record = track(health, fakeConnection(peer, open))
    for (let i = 0; i < 4; i++) { record.streamOutcome(false, 'StreamResetError', Date.now()) }
    expect(health.snapshot(record, Date.now()).stability).to.equal(0.5)
    clock.tick(5 * 60_000 + 1)
    expect(health.snapshot(record, Date.now()).stability).to.equal(1)
  })

  it('reports an RTT change even when the score barely moves, and sets conn.rtt-style figures', () => {
    const health = service({ maxPingLatency: 60_000 })
    const record = track(health, fakeConnection(peer, open))
    for (let i = 0; i < 10; i++) { check(health, record, true, 10) }
    const before = reported.length
    for (let i = 0; i < 3; i++) { check(health, record, true, 200) }

    const latest = reported[reported.length - 1]
    expect(reported.length).to.be.greaterThan(before)
    expect(latest.rtt?.ewma).to.be.greaterThan(50)
    expect(latest.score).to.be.greaterThan(0.99)
  })

  it('reports material changes only, with the adaptive timeout', () => {
    const health = service()
    const conn = fakeConnection(peer, open)
    open.push(conn) // getTimeout reads the peer's connections from the connection manager
    const record = track(health, conn)
    for (let i = 0; i < 20; i++) { check(health, record, true, 30) }
    expect(reported.length).to.be.at.most(3)
    expect(reported[0].adaptiveTimeout).to.be.a('number')
    expect(health.getTimeout(peer)).to.equal(1000) // 30 ms + 4 x ~0, raised to minTimeout
  })
})
