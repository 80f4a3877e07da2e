/**
 * Reuse vs fresh dial: time until a stream is usable (protocol negotiated)
 * on one of the pool's open connections, vs opening a new connection first.
 * Measured on plain loopback and through a proxy adding 25 ms each way;
 * interleaved samples, medians.
 *
 * libp2p 3.3 negotiates every stream's protocol before returning it, so
 * with latency a pooled stream costs one round trip and a fresh connection
 * about four: TCP connect, multistream-select of the encrypter, noise XX
 * (the muxer is agreed inside the noise handshake, so no muxer round trip),
 * then the stream's own negotiation. The ratio is therefore bounded near 4x
 * on a link where round trips dominate, whatever the pool does:
 *
 * `Connection.newStream` (node_modules/libp2p/dist/src/connection.js,
 * libp2p 3.3.11, lines 110-112) awaits `mss.select()` unless the muxer
 * pre-negotiated the protocol (yamux does not); `select()`
 * (node_modules/@libp2p/multistream-select/src/select.ts, 7.0.28, lines
 * 75-93) writes the header and protocol and awaits the remote's answer:
 * its `negotiateFully` option (index.ts) is declared but never read, so
 * there is no optimistic (lazy) select to opt into.
 *
 * Handing out streams negotiated ahead of time, or reusing one stream for
 * many requests, would beat the ratio by measuring something else; this
 * bench does not.
 *
 * Run: `node bench/pool/reuse.ts`
 */
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPool } from '@x/connection-pool'
import { FaultProxy } from '@x/fault-proxy'
import { ECHO, createNode } from '../lib/nodes.ts'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'

const SAMPLES = 40

async function measure (latency: number): Promise<{ reuse: number[], fresh: number[] }> {
  const server = await createNode()
  const port = Number(server.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = new FaultProxy({ target: { port } })
  await proxy.start()
  proxy.setLatency(latency)
  // no latency: dial the server directly, without the proxy in the way
  const proxied = latency === 0 ? server.getMultiaddrs()[0] : multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId}`)
  const client = await createNode({
    addresses: { listen: [] },
    connectionGater: { denyDialMultiaddr: (ma: any) => latency > 0 && !ma.toString().includes(`/tcp/${proxy.port}/`) },
    services: { pool: connectionPool({ maxConnectionsPerPeer: 3 }) }
  })
  await client.peerStore.merge(server.peerId, { multiaddrs: [proxied] })
  await client.services.pool.dial(server.peerId)

  const reuse: number[] = []
  const fresh: number[] = []

  const settle = async (): Promise<void> => new Promise(resolve => setTimeout(resolve, 50))

  for (let i = 0; i < SAMPLES; i++) {
    // let the previous sample's background work (identify on a new connection, closes) finish
    await settle()
    let started = performance.now()
    const pooled = await client.services.pool.newStream(server.peerId, ECHO)
    reuse.push(performance.now() - started)
    pooled.abort(new Error('done'))

    await settle()
    started = performance.now()
    const conn = await client.dial(proxied, { force: true })
    const stream = await conn.newStream(ECHO)
    fresh.push(performance.now() - started)
    stream.abort(new Error('done'))
    await conn.close()
  }

  await client.stop()
  await server.stop()
  await proxy.stop()

  return { reuse, fresh }
}

const results: Record<string, { reuse: number[], fresh: number[] }> = {
  loopback: await measure(0),
  '25 ms each way': await measure(25)
}

const rtts: Record<string, number> = { loopback: NaN, '25 ms each way': 50 }

const rows = Object.entries(results).map(([link, { reuse, fresh }]) => ({
  link,
  'pool RTTs': Number.isNaN(rtts[link]) ? '-' : fmt(median(reuse) / rtts[link]),
  'new conn RTTs': Number.isNaN(rtts[link]) ? '-' : fmt(median(fresh) / rtts[link]),
  'pool.newStream median ms': median(reuse),
  'pool p95 ms': percentile(reuse, 95),
  'new conn + stream median ms': median(fresh),
  'new conn p95 ms': percentile(fresh, 95),
  'fresh / reuse': `${fmt(median(fresh) / median(reuse))}x`
}))
printTable(`Time to a usable stream (${SAMPLES} interleaved samples each)`, rows)

const ratios = Object.values(results).map(({ reuse, fresh }) => median(fresh) / median(reuse))
process.stdout.write(`\ntarget >= 10x: loopback ${fmt(ratios[0])}x (${ratios[0] >= 10 ? 'met' : 'NOT met'}), 25 ms ${fmt(ratios[1])}x (${ratios[1] >= 10 ? 'met' : 'NOT met: about 4 round trips against 1, see the header'})\n`)
writeResults('pool-reuse', { rows, results })
