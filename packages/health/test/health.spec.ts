import { expect } from 'aegir/chai'
// @ts-expect-error the parser ships no types
import parsePrometheus from 'parse-prometheus-text-format'
import { createClient, createServer, echoOver, proxyTo, waitUntil } from './fixtures/nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { FaultProxy } from '@x/fault-proxy'

describe('connection health with real nodes', function () {
  this.timeout(60_000)
  let server: Libp2p
  let client: Libp2p<{ health: ConnectionHealth }>
  let proxy: FaultProxy | undefined

  beforeEach(async () => {
    server = await createServer()
  })

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    await proxy?.stop()
    proxy = undefined
  })

  it('measures the RTT a proxy injects on that very connection', async () => {
    client = await createClient({ checkInterval: 200, pingTimeout: 2_000 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    proxy.setLatency(25)
    const conn = await client.dial(proxied.addr)

    await waitUntil(() => (client.services.health.getConnectionHealth(server.peerId)?.connections[0]?.rtt?.samples ?? 0) >= 5)
    const report = client.services.health.getConnectionHealth(server.peerId)!.connections.find(c => c.connectionId === conn.id)!
    // 25 ms each way: a round trip is 50 ms plus a little for the stacks
    // never below what the proxy adds; the EWMA carries probes a loaded machine slows, the minimum does not
    expect(report.rtt!.ewma).to.be.at.least(50)
    expect(report.rtt!.min).to.be.within(50, 60)
    expect(report.score).to.be.greaterThan(0.9)
    expect(report.state).to.equal('healthy')
  })

  it('detects a black-holed connection and closes it, keeping the healthy one', async () => {
    client = await createClient({ checkInterval: 200, pingTimeout: 300, unhealthyChecksBeforeReplace: 2, replaceGrace: 0 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    const holed = await client.dial(proxied.addr)
    const direct = await client.dial(server.getMultiaddrs()[0], { force: true })
    await waitUntil(() => (client.services.health.getConnectionHealth(server.peerId)?.connections.every(c => (c.rtt?.samples ?? 0) > 1)) === true)

    const states: string[] = []
    client.addEventListener('connection:health', (evt) => { if (evt.detail.connectionId === holed.id) { states.push(evt.detail.state) } })
    proxy.setBlackhole(true)

    await waitUntil(() => holed.status !== 'open', 10_000)
    expect(direct.status).to.equal('open')
    expect(states).to.include('degraded')
    expect(client.services.health.getNetworkHealthSummary().replacements).to.be.at.least(1)
  })

  it('replaces a slowed connection while a request loop on the peer keeps succeeding', async () => {
    client = await createClient({ checkInterval: 200, pingTimeout: 2_000, maxPingLatency: 100, unhealthyChecksBeforeReplace: 2, replaceGrace: 2_000 })
    const proxied = await proxyTo(server)
    proxy = proxied.proxy
    const slow = await client.dial(proxied.addr)
    await waitUntil(() => (client.services.health.getConnectionHealth(server.peerId)?.connections[0]?.rtt?.samples ?? 0) > 1)

    let ok = 0
    let failed = 0
    const running = { on: true }
    const loop = (async () => {
      while (running.on) {
        try {
          const stream = await client.dialProtocol(server.peerId, '/echo/1.0.0')
          const got = await echoOver(stream, new Uint8Array(1024))
          if (got === 1024) { ok++ } else { failed++ }
        } catch {
          failed++
        }
      }
    })()

    proxy.setLatency(150)
    await waitUntil(() => slow.status !== 'open', 20_000)
    await waitUntil(() => client.getConnections(server.peerId).some(c => c.status === 'open'))
    const after = ok
    await waitUntil(() => ok > after + 5)
    running.on = false
    await loop

    expect(failed).to.equal(0)
    expect(client.services.health.getNetworkHealthSummary().replacements).to.be.at.least(1)
  })

  it('keeps and measures a connection to a peer that does not speak ping', async () => {
    await server.unhandle('/ipfs/ping/1.0.0')
    client = await createClient({ checkInterval: 60_000, unhealthyChecksBeforeReplace: 2 })
    const conn = await client.dial(server.getMultiaddrs()[0])
    for (let i = 0; i < 5; i++) {
      await client.services.health.checkAll()
    }

    const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(conn.status).to.equal('open')
    expect(report.state).to.equal('healthy')
    expect(report.rtt?.samples).to.equal(5)
    expect(report.probeFailures).to.equal(0)
  })

  it('reports the bytes of a 10 MiB echo within 5%', async () => {
    client = await createClient({ checkInterval: 60_000 })
    const conn = await client.dial(server.getMultiaddrs()[0])
    await waitUntil(() => client.services.health.getConnectionHealth(server.peerId) != null)
    const before = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    const size = 10 * 1024 * 1024
    const stream = await conn.newStream('/echo/1.0.0')
    expect(await echoOver(stream, new Uint8Array(size))).to.equal(size)

    const after = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    const sent = after.bytesOut - before.bytesOut
    const received = after.bytesIn - before.bytesIn
    expect(Math.abs(sent - size) / size).to.be.below(0.05)
    expect(Math.abs(received - size) / size).to.be.below(0.05)
    expect(after.rates.peak).to.be.greaterThan(0)
  })

  it('exports Prometheus text that a real parser accepts, and JSON', async () => {
    client = await createClient({ checkInterval: 100 })
    await client.dial(server.getMultiaddrs()[0])
    await waitUntil(() => client.services.health.getNetworkHealthSummary().probes > 1)

    const text = client.services.health.exportHealthMetrics('prometheus')
    const families = parsePrometheus(text)
    const names = families.map((f: any) => f.name)
    expect(names).to.include.members(['x_health_connections', 'x_health_connection_score', 'x_health_probes_total', 'x_health_connection_rtt_seconds'])
    const score = families.find((f: any) => f.name === 'x_health_connection_score')
    expect(score.type).to.equal('GAUGE')
    expect(score.metrics[0].labels.peer).to.equal(server.peerId.toString())
    expect(families.find((f: any) => f.name === 'x_health_probes_total').type).to.equal('COUNTER')

    const json = JSON.parse(client.services.health.exportHealthMetrics('json'))
    expect(json.summary.connections).to.equal(1)
    expect(json.connections[0].peer).to.equal(server.peerId.toString())
  })
})
