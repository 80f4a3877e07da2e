/**
 * libp2p's own connection monitor pings `/ipfs/ping/1.0.0` too, and
 * libp2p counts outbound streams per protocol and connection against the
 * limit of the local ping handler (1 in `@libp2p/ping`) before the limit a
 * caller passes. These tests pin down what happens when both run, which is
 * what the README's advice rests on. With a ping service of limit 2 the
 * monitor, which pings every interval without waiting for its last ping,
 * exceeds the limit by itself beside a stream probe on a 40 ms path at a
 * 120 ms interval; muxer probes open no ping stream and never meet it.
 */
import { expect } from 'aegir/chai'
import { createServer, proxyTo, waitUntil } from './fixtures/nodes.ts'
import { PING, createPingClient } from './fixtures/ping-nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { FaultProxy } from '@x/fault-proxy'

describe('beside libp2p\'s connection monitor', function () {
  this.timeout(60_000)
  let client: Libp2p<{ health: ConnectionHealth }> | undefined
  let server: Libp2p | undefined
  let proxy: FaultProxy | undefined

  beforeEach(async () => {
    server = await createServer()
  })

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    await proxy?.stop()
    client = undefined
    server = undefined
    proxy = undefined
  })

  it('a probe that meets another ping in flight on its connection is skipped, not failed', async () => {
    client = await createPingClient({ health: { checkInterval: 600_000, pingTimeout: 2_000 }, pingMaxOutboundStreams: 1 })
    const conn = await client.dial(server!.getMultiaddrs()[0])
    // the monitor's ping, held open
    const held: Stream = await conn.newStream(PING)

    await client.services.health.checkAll()

    let report = client.services.health.getConnectionHealth(server!.peerId)!.connections[0]
    expect(report.probesSkipped).to.equal(1)
    expect(report.probes).to.equal(0)
    expect(report.probeFailures).to.equal(0)
    expect(report.errors).to.be.empty()
    expect(report.state).to.equal('healthy')

    // once the other ping is done, probing goes on as usual
    await held.close()
    await waitUntil(() => conn.streams.every(s => s.protocol !== PING))
    await client.services.health.checkAll()
    report = client.services.health.getConnectionHealth(server!.peerId)!.connections[0]
    expect(report.probes).to.equal(1)
    expect(report.rtt?.samples).to.equal(1)
  })

  it('with the default ping limit, a second ping while a probe is in flight is refused (why the monitor must go or the limit rise)', async () => {
    client = await createPingClient({ health: { checkInterval: 600_000, pingTimeout: 5_000 }, pingMaxOutboundStreams: 1 })
    const proxied = await proxyTo(server!)
    proxy = proxied.proxy
    const conn = await client.dial(proxied.addr)
    proxy.setLatency(150)

    const probing = client.services.health.checkAll()
    await waitUntil(() => conn.streams.some(s => s.protocol === PING && s.direction === 'outbound'), 5_000)
    // what the connection monitor does every pingInterval; on this error it aborts the connection
    await expect(conn.newStream(PING)).to.eventually.be.rejected().with.property('name', 'TooManyOutboundProtocolStreamsError')
    await probing
    expect(client.services.health.getConnectionHealth(server!.peerId)!.connections[0].rtt?.samples).to.equal(1)
  })

  it('muxer probes run beside the monitor with the default ping limit: nothing refused, nothing aborted', async () => {
    // 'muxer': never a ping stream ('auto' opens one every STREAM_CHECK_EVERY idle checks, which can meet the monitor's)
    client = await createPingClient({
      health: { probe: 'muxer', checkInterval: 50, checkJitter: 0, pingTimeout: 2_000 },
      pingMaxOutboundStreams: 1,
      // the monitor overlaps its own pings (and aborts) when one takes longer than its interval: 300 ms leaves room on a loaded machine
      connectionMonitor: { enabled: true, pingInterval: 300 }
    })
    const proxied = await proxyTo(server!)
    proxy = proxied.proxy
    proxy.setLatency(20)
    const conn = await client.dial(proxied.addr)

    await waitUntil(() => (client!.services.health.getConnectionHealth(server!.peerId)?.connections[0]?.probes ?? 0) >= 30, 30_000)

    const report = client.services.health.getConnectionHealth(server!.peerId)!.connections[0]
    expect(conn.status).to.equal('open')
    expect(report.probe).to.equal('muxer')
    expect(report.probeFailures).to.equal(0)
    expect(report.probesSkipped).to.equal(0)
    // at least the proxy's 20 ms each way; the upper bound is loose, a loaded machine adds its own delay
    expect(report.rtt!.ewma).to.be.within(40, 400)
    expect(conn.rtt).to.be.a('number').that.is.greaterThan(30)
  })

  it('stream probes run beside the monitor on a node without its own ping service (libp2p\'s default limit of 64 applies)', async () => {
    client = await createPingClient({
      health: { checkInterval: 50, checkJitter: 0, pingTimeout: 2_000 },
      connectionMonitor: { enabled: true, pingInterval: 120 }
    })
    const proxied = await proxyTo(server!)
    proxy = proxied.proxy
    proxy.setLatency(20)
    const conn = await client.dial(proxied.addr)

    await waitUntil(() => (client!.services.health.getConnectionHealth(server!.peerId)?.connections[0]?.probes ?? 0) >= 30, 30_000)

    const report = client.services.health.getConnectionHealth(server!.peerId)!.connections[0]
    expect(conn.status).to.equal('open')
    expect(report.probeFailures).to.equal(0)
    expect(report.probesSkipped).to.equal(0)
  })
})
