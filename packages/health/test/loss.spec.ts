import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { waitUntil } from './fixtures/nodes.ts'
import { createLossyServer, createPingClient, seeded } from './fixtures/ping-nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const CHECKS = 300

describe('probe loss on a real connection', function () {
  this.timeout(60_000)
  let client: Libp2p<{ health: ConnectionHealth }> | undefined
  let server: Libp2p | undefined

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    client = undefined
    server = undefined
  })

  it('5% of pings ignored by the remote handler cause no replacement and no close', async () => {
    const random = seeded(7)
    const lossy = await createLossyServer(() => random() < 0.05)
    server = lossy.node
    // checks are driven by hand below; the scheduler stays out of the way
    client = await createPingClient({ health: { checkInterval: 600_000, pingTimeout: 250 } })
    const conn = await client.dial(server.getMultiaddrs()[0])
    const states = new Set<string>()
    client.addEventListener('connection:health', (evt) => { states.add(evt.detail.state) })

    // the probes run in real time on the real connection, but the wall
    // clock moves one default checkInterval (10 s) per check, so the 5 min
    // stability window sees the failures it would see in production (300
    // checks = 50 min), not 300 failures squeezed into a few seconds
    const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
    try {
      for (let i = 0; i < CHECKS; i++) {
        await client.services.health.checkAll()
        clock.tick(10_000)
      }
    } finally {
      clock.restore()
    }

    const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    const summary = client.services.health.getNetworkHealthSummary()

    // the remote really ignored about 5% of the probes, and each counted as lost
    expect(lossy.dropped()).to.be.within(CHECKS * 0.02, CHECKS * 0.09)
    expect(report.probeFailures).to.be.at.least(lossy.dropped())
    expect(report.probes).to.equal(CHECKS)
    expect(report.errors.filter(e => e.name === 'TimeoutError')).to.not.be.empty()
    // ... and none of that cost the connection anything
    expect(summary.replacements).to.equal(0)
    expect(conn.status).to.equal('open')
    expect(client.getConnections(server.peerId).map(c => c.id)).to.deep.equal([conn.id])
    expect(report.connectionId).to.equal(conn.id)
    expect(states.has('unhealthy')).to.equal(false)
    expect(report.successRate).to.be.above(0.8)
  })

  it('a remote that ignores every ping is found unhealthy and closed (the same handler, 100% loss)', async () => {
    const lossy = await createLossyServer(() => true)
    server = lossy.node
    // a failed re-dial waits one checkInterval before the next
    client = await createPingClient({ health: { checkInterval: 5_000, pingTimeout: 100, unhealthyChecksBeforeReplace: 3 } })
    const conn = await client.dial(server.getMultiaddrs()[0])
    const states: string[] = []
    client.addEventListener('connection:health', (evt) => { states.push(evt.detail.state) })

    let checks = 0
    while (conn.status === 'open' && checks < 20) {
      await client.services.health.checkAll()
      checks++
    }

    // two silent probes degrade it, three checks below the threshold make it
    // unhealthy (counted in probes: a check while the repair runs may end
    // before the connection is closed, more so on a loaded machine)
    expect(conn.status).to.not.equal('open')
    expect(client.services.health.getNetworkHealthSummary().probeFailures).to.be.within(3, 5)
    expect(states).to.include.members(['degraded', 'unhealthy'])
    expect(client.services.health.getNetworkHealthSummary().replacements).to.equal(1)
    // closed although it was the last one, then its peer re-dialled
    await waitUntil(() => client!.getConnections(server!.peerId).some(c => c.status === 'open' && c.id !== conn.id), 4_000)
  })
})
