/**
 * Scale: 1,000 pooled connections in one process (100 listener nodes x 10
 * connections each, TCP loopback, noise, yamux). Reports the pool's
 * bookkeeping memory per connection (its own estimate, and a heap
 * measurement of the same bookkeeping built over 1,000 stub connections) and
 * selection / stream-open time at that size.
 *
 *   node --expose-gc bench/pool/scale.ts   (bench/run.ts passes the flag)
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { connectionPool } from '@x/connection-pool'
import { TypedEventEmitter } from 'main-event'
import { ECHO, createNode } from '../lib/nodes.ts'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

const LISTENERS = Number(process.env.LISTENERS ?? 100)
const PER_PEER = 10

function gc (): void {
  (globalThis as any).gc?.()
}

/** Heap taken by the pool's own bookkeeping for `peers` x `perPeer` stub connections */
async function heapPerConnection (peers: number, perPeer: number): Promise<number> {
  const ids: PeerId[] = []
  for (let i = 0; i < peers; i++) ids.push(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
  const byPeer = new Map<string, Connection[]>()
  let n = 0
  const components = {
    connectionManager: {
      getConnections: (peer: PeerId) => byPeer.get(peer.toString()) ?? [],
      openConnection: async (peer: PeerId) => {
        const conn = { id: `c${n++}`, remotePeer: peer, status: 'open', streams: [], timeline: { open: n }, close: async () => {}, abort: () => {} } as unknown as Connection
        const list = byPeer.get(peer.toString()) ?? []
        list.push(conn)
        byPeer.set(peer.toString(), list)
        return conn
      }
    },
    peerStore: { merge: async () => {} },
    events: new TypedEventEmitter(),
    logger: defaultLogger()
  } as any
  // the stub connections exist before the measurement, like libp2p's own
  const pool = connectionPool({ maxConnectionsPerPeer: perPeer, maxConnections: peers * perPeer })(components) as any
  pool.start()
  const warm = pool.dial(ids[0])
  await warm
  gc()
  const before = process.memoryUsage().heapUsed
  for (const id of ids.slice(1)) await pool.dial(id)
  gc()
  const after = process.memoryUsage().heapUsed
  // the stub connections themselves are not the pool's: subtract a stub-only run
  await pool.stop()
  return (after - before) / ((peers - 1) * perPeer)
}

async function stubCost (count: number): Promise<number> {
  gc()
  const before = process.memoryUsage().heapUsed
  const keep: any[] = []
  for (let i = 0; i < count; i++) keep.push({ id: `c${i}`, remotePeer: null, status: 'open', streams: [], timeline: { open: i }, close: async () => {}, abort: () => {} })
  gc()
  const after = process.memoryUsage().heapUsed
  keep.length = 0
  return (after - before) / count
}

const measuredHeap = await heapPerConnection(101, 10)
const stubBytes = await stubCost(1000)

const listeners: Libp2p[] = []
for (let i = 0; i < LISTENERS; i++) listeners.push(await createNode())
const client = await createNode({
  addresses: { listen: [] },
  services: { pool: connectionPool({ maxConnectionsPerPeer: PER_PEER, maxConnections: LISTENERS * PER_PEER, maxPeers: LISTENERS, strategy: 'least-loaded' }) }
})

const dialStarted = performance.now()
for (let i = 0; i < listeners.length; i += 10) {
  await Promise.all(listeners.slice(i, i + 10).map(async l => {
    await client.peerStore.merge(l.peerId, { multiaddrs: l.getMultiaddrs() })
    await client.services.pool.dial(l.peerId)
  }))
}
const dialSeconds = (performance.now() - dialStarted) / 1000
const metrics = client.services.pool.getMetrics()

const selectUs: number[] = []
const streamMs: number[] = []
for (let round = 0; round < 20; round++) {
  const started = performance.now()
  for (const l of listeners) client.services.pool.getConnection(l.peerId)
  selectUs.push((performance.now() - started) * 1000 / listeners.length)
}
for (const l of listeners) {
  const started = performance.now()
  const stream = await client.services.pool.newStream(l.peerId, ECHO)
  streamMs.push(performance.now() - started)
  stream.abort(new Error('done'))
}

await client.stop()
await Promise.all(listeners.map(async l => l.stop()))

const rows = [
  { measure: 'pooled connections', value: metrics.connections, unit: '' },
  { measure: 'time to open them all', value: fmt(dialSeconds), unit: 's' },
  { measure: 'bookkeeping, pool estimate', value: fmt(metrics.bookkeepingBytes / metrics.connections, 0), unit: 'bytes/connection' },
  { measure: 'bookkeeping, heap measured (stubs)', value: fmt(measuredHeap - stubBytes, 0), unit: 'bytes/connection' },
  { measure: 'selection (getConnection), median', value: fmt(median(selectUs), 2), unit: 'us' },
  { measure: 'pool.newStream at this size, median / p95', value: `${fmt(median(streamMs))} / ${fmt(percentile(streamMs, 95))}`, unit: 'ms' }
]
printTable(`Scale: ${LISTENERS} peers x ${PER_PEER} connections in one process`, rows)
process.stdout.write(`\ntarget < 1 KiB bookkeeping per connection: ${measuredHeap - stubBytes < 1024 && metrics.bookkeepingBytes / metrics.connections < 1024 ? 'met' : 'NOT met'}\n`)
writeResults('pool-scale', { rows, measuredHeapPerConnection: measuredHeap, stubBytes, selectUs, streamMs, metrics: { ...metrics, connectionsPerPeer: undefined } })
