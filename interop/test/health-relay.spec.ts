/**
 * @x/health on a relayed connection: a js node reaches another js node
 * through a go-libp2p circuit relay v2 (`-relay-service`), and the health
 * service probes that limited connection itself, measures its RTT and
 * reports it as limited.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, requireOrSkip, startGoPeer, tcpAddr, waitFor } from '../src/index.ts'
import type { GoPeer } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { ConnectionHealth } from '@x/health'

describe('interop: @x/health on a connection relayed by go-libp2p', function () {
  this.timeout(60_000)
  let relay: GoPeer | undefined
  let server: Libp2p | undefined
  let client: Libp2p<{ health: ConnectionHealth }> | undefined

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    await relay?.stop()
  })

  it('probes the limited connection itself and measures its RTT', async () => {
    relay = await startGoPeer({ name: 'go-relay', args: ['-relay-service', '-force-reachability', 'public'] })
    const relayAddr = tcpAddr(relay.addrs)

    server = await createJsNode({
      listen: ['/ip4/127.0.0.1/tcp/0', `${relayAddr}/p2p-circuit`],
      overrides: { transports: [tcp(), circuitRelayTransport()], connectionMonitor: { enabled: false } }
    })
    await server.start()
    const circuit = await waitFor(() => server!.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')), 20_000, 100)

    client = await createJsNode({
      listen: [],
      overrides: {
        transports: [tcp(), circuitRelayTransport()],
        connectionMonitor: { enabled: false },
        services: { health: connectionHealth({ checkInterval: 300, checkJitter: 0, pingTimeout: 2_000 }) } as any
      }
    }) as unknown as Libp2p<{ health: ConnectionHealth }>
    await client.start()

    const conn = await client.dial(multiaddr(circuit.toString()))
    expect(conn.limits, 'a relayed connection').to.exist()

    const report = await waitFor(() => {
      const c = client!.services.health.getConnectionHealth(server!.peerId)?.connections.find(c => c.connectionId === conn.id)
      return c != null && (c.rtt?.samples ?? 0) >= 3 ? c : undefined
    }, 15_000, 100)

    expect(report.limited).to.equal(true)
    expect(report.probeFailures).to.equal(0)
    expect(report.successRate).to.equal(1)
    expect(report.state).to.equal('healthy')
    // two hops over loopback
    expect(report.rtt!.ewma).to.be.within(0, 50)
    expect(conn.status).to.equal('open')
    // and it is that relayed connection that was measured, not a direct one
    expect(client.getConnections(server.peerId).filter(c => c.limits == null)).to.be.empty()
  })
})
