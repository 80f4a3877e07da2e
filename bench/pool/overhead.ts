/**
 * Selection overhead on loopback: `pool.newStream` vs `connection.newStream`
 * on the same single connection, 10,000 streams each, in interleaved
 * batches of 500 so machine noise hits both alike. Reports the median of the
 * per-batch mean time per stream.
 *
 *   node bench/pool/overhead.ts
 */
import { connectionPool } from '@x/connection-pool'
import { ECHO, createNode } from '../lib/nodes.ts'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Stream } from '@libp2p/interface'

const STREAMS = Number(process.env.STREAMS ?? 10_000)
const BATCH = 500

const server = await createNode()
const client = await createNode({
  addresses: { listen: [] },
  services: { pool: connectionPool({ maxConnectionsPerPeer: 1, strategy: 'round-robin' }) }
})
await client.peerStore.merge(server.peerId, { multiaddrs: server.getMultiaddrs() })
const [conn] = await client.services.pool.dial(server.peerId)

async function batch (open: () => Promise<Stream>): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < BATCH; i++) {
    const stream = await open()
    stream.abort(new Error('done'))
  }
  return (performance.now() - started) / BATCH
}

const direct: number[] = []
const pooled: number[] = []

// warm up both paths
await batch(async () => conn.newStream(ECHO))
await batch(async () => client.services.pool.newStream(server.peerId, ECHO))

for (let done = 0; done < STREAMS; done += BATCH) {
  if ((done / BATCH) % 2 === 0) {
    direct.push(await batch(async () => conn.newStream(ECHO)))
    pooled.push(await batch(async () => client.services.pool.newStream(server.peerId, ECHO)))
  } else {
    pooled.push(await batch(async () => client.services.pool.newStream(server.peerId, ECHO)))
    direct.push(await batch(async () => conn.newStream(ECHO)))
  }
}

// the selection alone, without the stream
const selections = 100_000
let started = performance.now()
for (let i = 0; i < selections; i++) {
  client.services.pool.getConnection(server.peerId)
}
const selectUs = (performance.now() - started) / selections * 1000

await client.stop()
await server.stop()

const overhead = median(pooled) / median(direct) - 1
printTable(`Selection overhead on loopback, ${STREAMS} streams each (${STREAMS / BATCH} interleaved batches)`, [
  { path: 'connection.newStream', 'median of batch means, ms/stream': median(direct) },
  { path: 'pool.newStream', 'median of batch means, ms/stream': median(pooled) }
])
process.stdout.write(`\npool overhead: ${fmt(overhead * 100, 1)}% (target < 5%: ${overhead < 0.05 ? 'met' : 'NOT met'}); selection alone: ${fmt(selectUs, 2)} us\n`)
writeResults('pool-overhead', { direct, pooled, overhead, selectUs })
