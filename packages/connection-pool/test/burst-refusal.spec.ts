/**
 * The review's production case with real nodes: a js-libp2p node with its
 * default limits resets inbound connections beyond 5 per second per host,
 * so clients behind one address that burst at it see extra dials reset. The
 * pool holds the lowered target only for the short first hold, and its
 * maintenance tops the peer up afterwards without another `dial()` (it
 * held one connection for 10 minutes before).
 */
import { expect } from 'aegir/chai'
import { createClient, createRemote, waitUntil } from './fixtures/nodes.ts'
import type { Remote } from './fixtures/nodes.ts'
import type { ConnectionPool } from '../src/index.ts'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** libp2p's default `inboundConnectionThreshold`, with one to spare */
const MAX_BURST = 6

describe('a remote that resets connections over its inbound rate (real nodes)', function () {
  this.timeout(90_000)
  let remote: Remote
  let neighbour: Libp2p
  let client: Libp2p<{ pool: ConnectionPool }>

  beforeEach(async () => {
    // libp2p's default inbound limits (5 connections per second per host)
    remote = await createRemote()
    await remote.node.start()
    neighbour = await createClient()
    await neighbour.start()
    client = await createClient({ maxConnectionsPerPeer: 3, maintenanceInterval: 500 })
    await client.start()
  })

  afterEach(async () => {
    await client?.stop()
    await neighbour?.stop()
    await remote?.node.stop()
  })

  /** Another node on 127.0.0.1 dials until the remote resets one: its inbound rate for the host is used up now */
  async function burst (addr: Multiaddr): Promise<void> {
    const opened: Connection[] = []

    try {
      for (let i = 0; i < MAX_BURST; i++) {
        opened.push(await neighbour.dial(addr, { force: true }))
      }
    } catch {
      // reset: the rate is used up
    }

    await Promise.all(opened.map(async conn => conn.close()))
  }

  it('tops the peer up to maxConnectionsPerPeer once the short hold ends, without another dial()', async () => {
    const addr = remote.node.getMultiaddrs()[0]
    const peer = remote.node.peerId

    // a connection from before the burst, so the pool's dials are extra ones
    await client.dial(addr)

    // the burst and the pool's dial race libp2p's one-second window: tried
    // again until the remote resets one of the pool's extra dials
    for (let i = 0; i < 5 && client.services.pool.getMetrics().dialRefusals === 0; i++) {
      if (i > 0) {
        await client.services.pool.release(peer)
      }

      await burst(addr)
      await client.services.pool.dial(addr)
    }

    expect(client.services.pool.getMetrics().dialRefusals).to.be.at.least(1, 'the remote never reset an extra dial of the pool')
    expect(client.services.pool.getConnections(peer).length).to.be.below(3)

    // no dial() from here: maintenance asks again once the hold has ended
    await waitUntil(() => client.services.pool.getConnections(peer).length === 3, 60_000)
    expect(client.services.pool.getStatus(peer)).to.equal('connected')
  })
})
