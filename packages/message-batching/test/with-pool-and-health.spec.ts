import { ping } from '@libp2p/ping'
import { connectionPool } from '@x/connection-pool'
import { connectionHealth } from '@x/health'
import { expect } from 'aegir/chai'
import { createNode, waitUntil } from './fixtures/nodes.ts'
import type { BatchingNode } from './fixtures/nodes.ts'
import type { ConnectionPool } from '@x/connection-pool'

describe('with @x/connection-pool and @x/health on real nodes', () => {
  let a: BatchingNode
  let b: BatchingNode

  afterEach(async () => {
    await a?.stop()
    await b?.stop()
  })

  it('opens its stream through the pool and fails over to another pooled connection when its connection dies', async () => {
    a = await createNode({}, {
      ping: ping(),
      health: connectionHealth({ checkInterval: 60_000, replaceUnhealthy: false }),
      pool: connectionPool({ maxConnectionsPerPeer: 2, minConnectionsPerPeer: 2 })
    })
    b = await createNode({}, { ping: ping() })
    const received: number[] = []
    b.services.batching.handle('n', (data) => { received.push(data[0]) })
    await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
    const pool = a.services.pool as ConnectionPool
    const connections = await pool.dial(b.peerId)
    expect(connections).to.have.lengthOf(2)

    await a.services.batching.send(b.peerId, 'n', Uint8Array.from([1]))
    await waitUntil(() => received.length === 1)
    expect(pool.getMetrics().streamsOpened).to.equal(1)

    // the connection carrying the stream dies
    const carrying = a.getConnections(b.peerId).find(c => c.streams.some(s => s.protocol === '/x/batch/1.1.0'))
    expect(carrying).to.exist()
    await carrying?.close()

    for (let n = 2; n <= 5; n++) {
      await a.services.batching.send(b.peerId, 'n', Uint8Array.from([n]))
    }
    await waitUntil(() => received.length === 5)
    expect(received).to.deep.equal([1, 2, 3, 4, 5])
    expect(pool.getMetrics().streamsOpened).to.equal(2)
    expect(a.services.batching.getMetrics().streamsOpened).to.equal(2)
  })

  it("times requests out after @x/health's adaptive timeout for the peer (above minRequestTimeout)", async () => {
    a = await createNode({ minRequestTimeout: 500 }, { ping: ping(), health: connectionHealth({ checkInterval: 60_000, minTimeout: 1000, maxTimeout: 1000 }) })
    b = await createNode({}, { ping: ping() })
    b.services.batching.handle('never', async () => new Promise(() => {}))
    await a.dial(b.getMultiaddrs()[0])
    const health = a.services.health as { getTimeout(peer: unknown): number }
    expect(health.getTimeout(b.peerId)).to.equal(1000)

    const err = await a.services.batching.request(b.peerId, 'never', new Uint8Array(1)).catch(e => e)
    expect(err).to.have.property('name', 'TimeoutError')
    expect(err.message).to.include('within 1000 ms')
  })
})
