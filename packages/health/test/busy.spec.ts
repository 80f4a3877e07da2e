import { expect } from 'aegir/chai'
import { createClient, createServer, echoOver } from './fixtures/nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('a busy connection', function () {
  this.timeout(60_000)
  let server: Libp2p | undefined
  let client: Libp2p<{ health: ConnectionHealth }> | undefined

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
  })

  it('is probed while it carries a bulk transfer, with a real RTT, and its bytes are counted as they flow', async () => {
    server = await createServer()
    // a probe waits behind the transfer's queued data: on a loaded machine that passes
    // the default maxPingLatency of 1 s; this test is about being probed, not the score
    client = await createClient({ checkInterval: 600_000, pingTimeout: 5_000, maxPingLatency: 5_000 })
    const conn = await client.dial(server.getMultiaddrs()[0])
    const size = 32 * 1024 * 1024
    const stream = await conn.newStream('/echo/1.0.0')
    const transfer = { done: false }
    const echoed = echoOver(stream, new Uint8Array(size)).finally(() => { transfer.done = true })

    // probe only while the transfer is under way
    let probedWhileBusy = 0
    let bytesSeenWhileBusy = 0
    while (!transfer.done) {
      await client.services.health.checkAll()
      const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
      if (!transfer.done && report.openStreams > 0) {
        probedWhileBusy++
        bytesSeenWhileBusy = report.bytesOut
      }
    }
    expect(await echoed).to.equal(size)

    const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(probedWhileBusy).to.be.at.least(1)
    expect(report.probeFailures).to.equal(0)
    expect(report.probesSkipped).to.equal(0)
    // a real round trip, not a 0 ms placeholder
    expect(report.rtt!.min).to.be.greaterThan(0)
    expect(report.rtt!.samples).to.equal(report.probes)
    // counted while in flight, not only at the end
    expect(bytesSeenWhileBusy).to.be.greaterThan(0).and.below(report.bytesOut)
    expect(report.state).to.equal('healthy')
  })
})
