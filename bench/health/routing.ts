/**
 * Latency-based routing: a peer reached over two connections, one through a
 * proxy adding 50 ms each way (100 ms slower per round trip). Mean latency
 * of 1 KiB echo requests: the fast connection alone, the pool with
 * round-robin, and the pool with latency-based placement fed by @x/health.
 * Target: latency-based within 1.2x of the fast connection alone.
 *
 * `node bench/health/routing.ts`
 */
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPool } from '@x/connection-pool'
import { FaultProxy } from '@x/fault-proxy'
import { connectionHealth } from '@x/health'
import { ECHO, createNode, echoOver } from '../lib/nodes.ts'
import { fmt, mean, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

const REQUESTS = 200
const PAYLOAD = new Uint8Array(1024).fill(1)

const server = await createNode({ services: { ping: (await import('@libp2p/ping')).ping() } })
const port = Number(server.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
const fastProxy = new FaultProxy({ target: { port } })
const slowProxy = new FaultProxy({ target: { port } })
await fastProxy.start()
await slowProxy.start()
slowProxy.setLatency(50)
const fastAddr = multiaddr(`/ip4/127.0.0.1/tcp/${fastProxy.port}/p2p/${server.peerId}`)
const slowAddr = multiaddr(`/ip4/127.0.0.1/tcp/${slowProxy.port}/p2p/${server.peerId}`)

async function client (strategy: 'round-robin' | 'latency-based'): Promise<Libp2p<any>> {
  const node = await createNode({
    addresses: { listen: [] },
    connectionGater: { denyDialMultiaddr: (ma: any) => !ma.toString().includes(`/tcp/${fastProxy.port}/`) && !ma.toString().includes(`/tcp/${slowProxy.port}/`) },
    services: {
      health: connectionHealth({ checkInterval: 300, checkJitter: 0 }),
      pool: connectionPool({ strategy, maxConnectionsPerPeer: 2 })
    }
  })
  await node.dial(fastAddr, { force: true })
  await node.dial(slowAddr, { force: true })
  await node.services.pool.dial(server.peerId)
  // wait until health measured both connections a few times
  while ((node.services.health.getConnectionHealth(server.peerId)?.connections ?? []).filter((c: any) => (c.rtt?.samples ?? 0) >= 3).length < 2) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return node
}

async function run (open: () => Promise<Stream>): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now()
    await echoOver(await open(), PAYLOAD)
    times.push(performance.now() - started)
  }
  return times
}

const rr = await client('round-robin')
const lb = await client('latency-based')
const fastConn = rr.getConnections(server.peerId).find((c: Connection) => c.remoteAddr.toString().includes(`/tcp/${fastProxy.port}/`))!

const results = {
  'fast connection alone': await run(async () => fastConn.newStream(ECHO)),
  'pool, round-robin': await run(async () => rr.services.pool.newStream(server.peerId, ECHO)),
  'pool, latency-based + health': await run(async () => lb.services.pool.newStream(server.peerId, ECHO))
}

await rr.stop()
await lb.stop()
await server.stop()
await fastProxy.stop()
await slowProxy.stop()

const base = mean(results['fast connection alone'])
const rows = Object.entries(results).map(([path, ms]) => ({ path, 'mean ms': mean(ms), 'median ms': median(ms), 'vs fast alone': `${fmt(mean(ms) / base)}x` }))
printTable(`Routing with one connection 100 ms slower per round trip (${REQUESTS} sequential 1 KiB echoes each)`, rows)
const ratio = mean(results['pool, latency-based + health']) / base
process.stdout.write(`\nlatency-based / fast alone: ${fmt(ratio)}x (target <= 1.2x: ${ratio <= 1.2 ? 'met' : 'NOT met'})\n`)
writeResults('health-routing', { rows, results })
process.exit(0)
