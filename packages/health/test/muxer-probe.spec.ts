/**
 * Probing on the muxer (issue 13): a yamux PING frame instead of a ping
 * stream, on real connections and with fakes.
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { STREAM_CHECK_EVERY } from '../src/constants.ts'
import { muxerPingOf } from '../src/muxer-probe.ts'
import { fakeConnection, harness, newPeer } from './fixtures/fake-connections.ts'
import { createClient, createServer, proxyTo, waitUntil } from './fixtures/nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { FaultProxy } from '@x/fault-proxy'

describe('muxer probe: real nodes', function () {
  this.timeout(60_000)
  let server: Libp2p | undefined
  let client: Libp2p<{ health: ConnectionHealth }> | undefined
  let proxy: FaultProxy | undefined

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    await proxy?.stop()
    client = undefined
    server = undefined
    proxy = undefined
  })

  it('libp2p keeps a yamux connection\'s muxer, with ping(), in conn.muxer (if this fails, every probe falls back to a ping stream)', async () => {
    server = await createServer()
    client = await createClient({ checkInterval: 600_000 })
    const conn = await client.dial(server.getMultiaddrs()[0])
    expect(conn.multiplexer).to.equal('/yamux/1.0.0')
    expect(muxerPingOf(conn), 'conn.muxer.ping').to.not.equal(undefined)
  })

  it('auto probes a yamux connection with PING frames: a real RTT, no ping stream opened', async () => {
    server = await createServer()
    client = await createClient({ checkInterval: 600_000 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    proxy.setLatency(25)
    const conn = await client.dial(proxied.addr)
    const pingStreams: string[] = []
    const newStream = conn.newStream
    conn.newStream = async (protocols, options) => {
      pingStreams.push(String(protocols))
      return newStream.call(conn, protocols, options)
    }

    for (let i = 0; i < 5; i++) {
      await client.services.health.checkAll()
    }

    const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(pingStreams).to.be.empty()
    expect(report.probe).to.equal('muxer')
    expect(report.rtt?.samples).to.equal(5)
    // 25 ms each way: a real round trip through the proxy, not ~0 (timers may fire up to 1 ms early on
    // each leg, and a loaded machine adds delay, so no tight upper bound)
    expect(report.rtt!.min).to.be.within(48, 250)
    expect(report.state).to.equal('healthy')
  })

  it('a peer that does not speak ping gets a real RTT and score from the muxer; with stream probes the report says so', async () => {
    server = await createServer()
    await server.unhandle('/ipfs/ping/1.0.0')
    client = await createClient({ checkInterval: 600_000 })
    await client.dial(server.getMultiaddrs()[0])
    for (let i = 0; i < 3; i++) {
      await client.services.health.checkAll()
    }
    let report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(report.probe).to.equal('muxer')
    expect(report.pingUnsupported).to.equal(false)
    expect(report.rtt?.samples).to.equal(3)
    expect(report.state).to.equal('healthy')
    await client.stop()

    client = await createClient({ checkInterval: 600_000, probe: 'stream' })
    await client.dial(server.getMultiaddrs()[0])
    await client.services.health.checkAll()
    report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(report.probe).to.equal('negotiation')
    expect(report.pingUnsupported).to.equal(true)
    expect(client.services.health.getNetworkHealthSummary().pingUnsupported).to.equal(1)
  })

  it('a muxer probe that times out leaves the connection working when the late answer comes', async () => {
    server = await createServer()
    client = await createClient({ checkInterval: 600_000, pingTimeout: 100 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    const conn = await client.dial(proxied.addr)
    await client.services.health.checkAll()

    proxy.setLatency(150)
    await client.services.health.checkAll()
    let report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(report.probeFailures).to.equal(1)
    expect(report.errors[0].name).to.equal('TimeoutError')

    // the late PONG arrives while nothing waits for it any more
    await waitUntil(() => (conn as any).muxer.activePing == null, 5_000)
    proxy.clearFaults()
    await client.services.health.checkAll()
    await client.services.health.checkAll()
    report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(conn.status).to.equal('open')
    expect(report.probeFailures).to.equal(1)
    expect(report.probes).to.equal(4)
    const stream = await conn.newStream('/echo/1.0.0')
    await stream.close()
  })

  it('detects a black-holed yamux connection and closes it', async () => {
    server = await createServer()
    client = await createClient({ checkInterval: 200, pingTimeout: 300, unhealthyChecksBeforeReplace: 2, replaceGrace: 0 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    const conn = await client.dial(proxied.addr)
    await waitUntil(() => (client!.services.health.getConnectionHealth(server!.peerId)?.connections[0]?.rtt?.samples ?? 0) > 1)
    proxy.setBlackhole(true)
    await waitUntil(() => conn.status !== 'open', 10_000)
    expect(client.services.health.getNetworkHealthSummary().replacements).to.equal(1)
  })
})

describe('muxer probe: fakes', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('never gives the muxer\'s ping() an abort signal, and races its own timer', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conn = fakeConnection(peer, h.open, { muxer: true })
    h.open.push(conn)
    const health = h.service({ pingTimeout: 500 })
    health.start()
    const done = health.checkAll()
    await clock.tickAsync(600)
    await done
    const report = health.getConnectionHealth(peer)!.connections[0]
    expect(conn.muxerPings).to.deep.equal([undefined])
    expect(report.probeFailures).to.equal(1)
    expect(report.errors[0].name).to.equal('TimeoutError')
    health.stop()
  })

  it(`auto sends a ping stream after ${STREAM_CHECK_EVERY} x (the peer's connections) muxer checks without a successful stream, and none while streams succeed`, async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const idle = fakeConnection(peer, h.open, { muxer: true, rtt: 5 })
    const busy = fakeConnection(peer, h.open, { muxer: true, rtt: 5 })
    h.open.push(idle, busy)
    const health = h.service()
    health.start()
    const busyRecord = (health as any).track(busy)

    // two connections of the peer: one ping stream every 2 x STREAM_CHECK_EVERY checks
    const every = 2 * STREAM_CHECK_EVERY

    for (let i = 0; i < 2 * every + 2; i++) {
      busyRecord.streamOutcome(true, undefined, Date.now())
      const done = health.checkAll()
      await clock.tickAsync(10)
      await done
    }

    expect(idle.opened).to.deep.equal(['/ipfs/ping/1.0.0', '/ipfs/ping/1.0.0'])
    expect(busy.opened).to.be.empty()
    expect(idle.muxerPings).to.have.lengthOf(2 * every)
    const report = health.getConnectionHealth(peer)!.connections.find(c => c.connectionId === idle.id)!
    expect(report.probes).to.equal(2 * every + 2)
    health.stop()
  })

  it('auto: a connection whose muxer answers but whose ping streams fail is replaced (after a failed stream check the next checks are stream checks until one succeeds)', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conn = fakeConnection(peer, h.open, { muxer: true, rtt: 5, streamError: 'StreamResetError' })
    h.open.push(conn)
    h.connectionManager.openConnection.rejects(new Error('unreachable'))
    const health = h.service({ minConnectionsPerPeer: 0, unhealthyChecksBeforeReplace: 3 })
    health.start()

    for (let i = 0; i < 3 * STREAM_CHECK_EVERY && conn.status === 'open'; i++) {
      const done = health.checkAll()
      await clock.tickAsync(10)
      await done
    }

    expect(conn.opened.length, 'ping streams tried').to.be.within(3, 4)
    expect(conn.status, 'closed: it serves no stream').to.not.equal('open')
    health.stop()
  })

  it('muxer probes of one peer\'s connections run at once (no per-peer stream limit applies)', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conns = Array.from({ length: 8 }, () => fakeConnection(peer, h.open, { muxer: true, rtt: 100 }))
    h.open.push(...conns)
    const health = h.service()
    health.start()
    const done = health.checkAll()
    await clock.tickAsync(50)
    expect(conns.every(c => c.muxerPings.length === 1)).to.equal(true)
    await clock.tickAsync(100)
    await done
    health.stop()
  })
})
