/**
 * A 1.5 s RTT path (issue 12, item 1): the remote is reachable only through
 * `@x/fault-proxy` (it announces the proxy's address alone) and the health
 * service reports the path's RTT. A dial takes about four round trips, so
 * the adaptive timeout (about one RTT) must not bound dials; opening a
 * stream takes one, so it still bounds stream opens.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { expect } from 'aegir/chai'
import { COUNT_PROTOCOL, createClient, createRemote, waitUntil } from './fixtures/nodes.ts'
import type { Remote } from './fixtures/nodes.ts'
import type { ConnectionPool } from '../src/index.ts'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { ConnectionHealthSnapshot } from '@x/interface'

const ONE_WAY_MS = 750

describe('a 1.5 s RTT path through the fault proxy', function () {
  this.timeout(120_000)
  let proxy: FaultProxy | undefined
  let remote: Remote | undefined
  let client: Libp2p<{ pool: ConnectionPool }> | undefined

  afterEach(async () => {
    await client?.stop()
    await remote?.node.stop()
    await proxy?.stop()
  })

  /** What `@x/health` publishes for a connection on this path: SRTT 1.5 s, adaptive timeout SRTT + 4 RTTVAR */
  function slowSnapshot (conn: Connection): ConnectionHealthSnapshot {
    const rtt = 2 * ONE_WAY_MS
    return {
      peer: conn.remotePeer,
      connectionId: conn.id,
      score: 0.9,
      state: 'healthy',
      rtt: { last: rtt, ewma: rtt, min: rtt, p50: rtt, p95: rtt + 50, samples: 8 },
      successRate: 1,
      stability: 1,
      limited: false,
      adaptiveTimeout: rtt + 4 * 25,
      timestamp: Date.now()
    }
  }

  it('dials a second connection and opens streams while health reports the RTT', async () => {
    const announced: { addr?: string } = {}
    remote = await createRemote(addrs => announced.addr == null ? addrs : [multiaddr(announced.addr)])
    await remote.node.start()
    const port = Number(remote.node.getMultiaddrs()[0].getComponents().find(c => c.name === 'tcp')?.value)
    proxy = new FaultProxy({ target: { port } })
    await proxy.start()
    const proxyAddr = `/ip4/127.0.0.1/tcp/${proxy.port}`
    announced.addr = proxyAddr
    proxy.setLatency(ONE_WAY_MS)

    // libp2p's own dial limits are not what is under test
    client = await createClient({ maxConnectionsPerPeer: 2 }, { dialTimeout: 60_000, addressDialTimeout: 60_000 })
    await client.start()
    const events = (client as any).components.events
    client.addEventListener('connection:open', (evt) => {
      // as soon as a connection opens, health has measured the path
      events.safeDispatchEvent('connection:health', { detail: slowSnapshot(evt.detail) })
    })

    // the client knows the proxy's address alone
    await client.peerStore.merge(remote.node.peerId, { multiaddrs: [multiaddr(proxyAddr)] })
    const conns = await client.services.pool.dial(remote.node.peerId)

    expect(conns).to.have.lengthOf(2)
    expect(conns.every(c => c.remoteAddr.toString().startsWith(proxyAddr))).to.be.true()
    expect(client.services.pool.getMetrics()).to.include({ dialRefusals: 0, dialFailures: 0 })
    // the remote announces the proxy alone
    expect(remote.node.getMultiaddrs().map(ma => ma.toString().replace(/\/p2p\/.*$/, ''))).to.deep.equal([proxyAddr])

    const stream = await client.services.pool.newStream(remote.node.peerId, COUNT_PROTOCOL)
    await stream.close()
    await waitUntil(() => [...(remote?.streamsPerConnection.values() ?? [])].reduce((a, b) => a + b, 0) === 1, 20_000)
    expect(client.services.pool.getMetrics()).to.include({ streamsOpened: 1, streamFailures: 0 })
  })
})
