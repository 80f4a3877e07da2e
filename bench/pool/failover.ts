/**
 * Failover: a steady loop of 1 KiB echo requests (one in flight) through a
 * proxy adding 25 ms each way, while the connection carrying the request in
 * flight is reset. Pool with 3 connections vs plain libp2p (`dialProtocol`,
 * which re-dials). Both retry a failed request once, as an application
 * would; a request that fails twice is lost.
 *
 *   node bench/pool/failover.ts
 */
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPool } from '@x/connection-pool'
import { FaultProxy } from '@x/fault-proxy'
import { ECHO, createNode, echoOver } from '../lib/nodes.ts'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

function tcpPort (addr: string): number {
  const match = addr.match(/\/tcp\/(\d+)/)
  if (match == null) throw new Error(`no TCP port in ${addr}`)
  return Number(match[1])
}

const LATENCY = 25
const STEADY_MS = 3_000
const AFTER_MS = 2_000
const TRIALS = 5
const PAYLOAD = new Uint8Array(1024).fill(42)

interface Sample { at: number, ms: number, ok: boolean, retried: boolean }

async function requestLoop (open: () => Promise<Stream>, until: () => boolean): Promise<Sample[]> {
  const samples: Sample[] = []

  while (!until()) {
    const started = performance.now()
    let ok = false
    let retried = false

    for (let attempt = 0; attempt < 2 && !ok; attempt++) {
      try {
        const stream = await open()
        const back = await echoOver(stream, PAYLOAD)
        ok = back.byteLength === PAYLOAD.byteLength
      } catch {
        retried = true
      }
    }

    samples.push({ at: started, ms: performance.now() - started, ok, retried })
  }

  return samples
}

async function run (name: string, usePool: boolean): Promise<Record<string, string | number>> {
  const server = await createNode()
  const target = server.getMultiaddrs()[0]
  const proxy = new FaultProxy({ target: { port: tcpPort(target.toString()) } })
  await proxy.start()
  proxy.setLatency(LATENCY)
  const proxied = multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId}`)

  const client: Libp2p<any> = await createNode({
    addresses: { listen: [] },
    // only ever reach the server through the proxy (identify also reports its real address)
    connectionGater: { denyDialMultiaddr: (ma: any) => !ma.toString().includes(`/tcp/${proxy.port}/`) },
    services: usePool ? { pool: connectionPool({ maxConnectionsPerPeer: 3, retry: { initialDelay: 100, maxDelay: 1000 } }) } : {}
  })
  await client.peerStore.merge(server.peerId, { multiaddrs: [proxied] })
  const peer: PeerId = server.peerId

  if (usePool) {
    await client.services.pool.dial(peer)
  } else {
    await client.dial(proxied)
  }

  const open = usePool
    ? async () => client.services.pool.newStream(peer, ECHO) as Promise<Stream>
    : async () => client.dialProtocol(proxied, ECHO) // reuses the open connection, re-dials the address when it is gone

  const start = performance.now()
  let faultAt = Infinity
  const loop = requestLoop(open, () => performance.now() - start > STEADY_MS + AFTER_MS)

  await new Promise(resolve => setTimeout(resolve, STEADY_MS))
  // reset the proxied TCP connection that carries the request in flight:
  // the server sees the proxy's upstream socket as the remote address
  const serverSide = server.getConnections()
  const busy = serverSide.find((c: Connection) => c.streams.some((s: Stream) => s.protocol === ECHO)) ?? serverSide[0]
  const victim = proxy.connections.find(pc => pc.upstream.localPort === tcpPort(busy.remoteAddr.toString())) ?? proxy.connections[0]
  faultAt = performance.now()
  victim.reset()

  const samples = await loop
  const steady = samples.filter(s => s.at < faultAt - 1000).map(s => s.ms)
  const around = samples.filter(s => s.at >= faultAt - 500 && s.at < faultAt + 500)
  const lost = samples.filter(s => !s.ok).length

  await client.stop()
  await server.stop()
  await proxy.stop()

  return {
    client: name,
    requests: samples.length,
    lost,
    retried: samples.filter(s => s.retried).length,
    'steady p50 ms': median(steady),
    'steady p99 ms': percentile(steady, 99),
    'fault-second p99 ms': percentile(around.map(s => s.ms), 99),
    'fault p99 / steady p99': percentile(around.map(s => s.ms), 99) / percentile(steady, 99)
  }
}

// trials interleave the two clients so machine noise hits both alike
const trials: Record<string, Array<Record<string, string | number>>> = { pool: [], plain: [] }

for (let i = 0; i < TRIALS; i++) {
  trials.pool.push(await run('pool, 3 connections', true))
  trials.plain.push(await run('plain libp2p', false))
}

const summarise = (name: string, runs: Array<Record<string, string | number>>): Record<string, string | number> => {
  const col = (k: string): number[] => runs.map(r => Number(r[k]))
  return {
    client: name,
    trials: runs.length,
    requests: col('requests').reduce((a, b) => a + b, 0),
    lost: col('lost').reduce((a, b) => a + b, 0),
    'retried (app)': col('retried').reduce((a, b) => a + b, 0),
    'steady p50 ms': median(col('steady p50 ms')),
    'steady p99 ms': median(col('steady p99 ms')),
    'fault-second p99 ms': median(col('fault-second p99 ms')),
    'fault/steady p99': median(col('fault p99 / steady p99'))
  }
}
const rows = [summarise('pool, 3 connections', trials.pool), summarise('plain libp2p', trials.plain)]
printTable(`Failover: 1 KiB echo loop, ${LATENCY} ms each way, the connection under the request reset after ${STEADY_MS / 1000} s (medians of ${TRIALS} trials)`, rows)
process.stdout.write(`\ntarget: pool loses no request and its fault-second p99 stays within 2x its steady p99 -> ${rows[0].lost === 0 && Number(rows[0]['fault/steady p99']) <= 2 ? 'met' : 'NOT met'}\n`)
writeResults('pool-failover', { summary: rows, trials })
