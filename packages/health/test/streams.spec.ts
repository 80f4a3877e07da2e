/**
 * Stream outcomes on real connections: streams that neither the pool nor
 * the health service opened are observed on the connection itself, probes
 * are not counted as streams, and a `pool:stream` event for an observed
 * connection is not counted twice.
 */
import { expect } from 'aegir/chai'
import { createClient, createServer, echoOver } from './fixtures/nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('stream outcomes', function () {
  this.timeout(30_000)
  let server: Libp2p | undefined
  let client: Libp2p<{ health: ConnectionHealth }> | undefined

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
  })

  it('counts the application\'s own streams on a monitored connection, succeeded and failed, but not probes', async () => {
    server = await createServer()
    client = await createClient({ checkInterval: 600_000 })
    const conn = await client.dial(server.getMultiaddrs()[0])

    for (let i = 0; i < 3; i++) {
      const stream = await conn.newStream('/echo/1.0.0')
      expect(await echoOver(stream, new Uint8Array(100))).to.equal(100)
    }

    // a stream open that timed out is the connection's failure ...
    const timedOut = AbortSignal.abort(new DOMException('stream open timed out', 'TimeoutError'))
    await expect(conn.newStream('/echo/1.0.0', { signal: timedOut })).to.eventually.be.rejected()
    // ... a protocol the remote does not speak, or a cancelled open, is not
    await expect(conn.newStream('/not-spoken/1.0.0')).to.eventually.be.rejected.with.property('name', 'UnsupportedProtocolError')
    await expect(conn.newStream('/echo/1.0.0', { signal: AbortSignal.abort() })).to.eventually.be.rejected()

    // probes are probes, not streams
    await client.services.health.checkAll()
    await client.services.health.checkAll()

    const report = client.services.health.getConnectionHealth(server.peerId)!.connections[0]
    expect(report.probes).to.equal(2)
    expect(report.streamsOpened).to.equal(3)
    expect(report.streamsFailed).to.equal(1)
    expect(report.errors.filter(e => e.kind === 'stream').map(e => e.name)).to.have.lengthOf(1)

    // a pool's report of a stream the tap already saw is not counted again
    ;(client as any).components.events.safeDispatchEvent('pool:stream', {
      detail: { peer: server.peerId, connectionId: conn.id, protocol: '/echo/1.0.0', outcome: 'opened', duration: 1, failover: false }
    })
    expect(client.services.health.getConnectionHealth(server.peerId)!.connections[0].streamsOpened).to.equal(3)
  })
})
