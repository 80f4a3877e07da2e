/* eslint-disable no-console -- an example program prints what it does */
/**
 * @packageDocumentation
 *
 * `@x/connection-pool` in a few lines: node A keeps three connections to
 * node B and spreads echo streams over them.
 *
 * @example
 *
 * ```console
 * node examples/pool-minimal/dist/src/index.js
 * ```
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { echo } from '@libp2p/echo'
import { tcp } from '@libp2p/tcp'
import { connectionPool } from '@x/connection-pool'
import { createLibp2p } from 'libp2p'

const base = {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
}

const a = await createLibp2p({ ...base, services: { pool: connectionPool({ maxConnectionsPerPeer: 3, strategy: 'round-robin' }) } })
const b = await createLibp2p({ ...base, services: { echo: echo() } })

// every status change of a pooled peer: listen before dialling to see them all
a.addEventListener('pool:status', (evt) => { console.info('B is %s (was %s)', evt.detail.status, evt.detail.previous) })

// A keeps up to 3 connections to B, opened one after another; dial takes
// what libp2p.dial takes: a PeerId, a Multiaddr (here with /p2p/) or a Multiaddr[]
const connections = await a.services.pool.dial(b.getMultiaddrs()[0])
console.info('connections to B: %d', connections.length)

// ten streams, each on the connection the strategy picks
const used = new Map<string, number>()

for (let i = 0; i < 10; i++) {
  const stream = await a.services.pool.newStream(b.peerId, '/echo/1.0.0')
  const conn = connections.find(c => c.streams.includes(stream))
  used.set(conn?.id ?? '?', (used.get(conn?.id ?? '?') ?? 0) + 1)
  await stream.close()
}

console.info('streams per connection: %s', [...used.values()].join(' '))
console.info('pool metrics: streams opened %d, failovers %d', a.services.pool.getMetrics().streamsOpened, a.services.pool.getMetrics().failovers)

await a.stop()
await b.stop()
