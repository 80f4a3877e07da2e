/**
 * A child process of listener nodes for benchmarks that must not count the
 * remote side's CPU: starts N nodes (echo + ping), prints their addresses
 * as one JSON line, and stops them all when stdin closes.
 *
 *   node bench/lib/listeners.ts <count>
 */
import { ping } from '@libp2p/ping'
import { createNode } from './nodes.ts'
import type { Libp2p } from '@libp2p/interface'

const count = Number(process.argv[2] ?? 10)
const nodes: Libp2p[] = []
for (let i = 0; i < count; i++) {
  nodes.push(await createNode({ services: { ping: ping({ maxInboundStreams: 64 }) } }))
}
process.stdout.write(JSON.stringify(nodes.map(n => n.getMultiaddrs()[0].toString())) + '\n')
process.stdin.resume()
process.stdin.on('end', () => {
  void Promise.all(nodes.map(async n => n.stop())).then(() => process.exit(0))
})
