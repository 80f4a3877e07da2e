/* eslint-disable no-console -- an example program prints what it does */
/**
 * @packageDocumentation
 *
 * `@x/health` in a few lines: two connected nodes, the health service probes
 * the connection, scores it and exports Prometheus text.
 *
 * @example
 *
 * ```console
 * node examples/health-minimal/dist/src/index.js
 * ```
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { connectionHealth } from '@x/health'
import { createLibp2p } from 'libp2p'

const base = {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // the health service measures RTT itself; libp2p's monitor would race it for the ping stream
  connectionMonitor: { enabled: false }
}

const a = await createLibp2p({ ...base, services: { ping: ping(), health: connectionHealth({ checkInterval: 500 }) } })
const b = await createLibp2p({ ...base, services: { ping: ping() } })

a.addEventListener('connection:health', (evt) => {
  console.info('connection:health %s state %s score %s', evt.detail.connectionId, evt.detail.state, evt.detail.score.toFixed(2))
}, { once: true })

await a.dial(b.getMultiaddrs()[0])

// probe now instead of waiting for the first interval
await a.services.health.checkAll()
const peer = a.services.health.getConnectionHealth(b.peerId)
console.info('peer score %s, rtt %s ms, adaptive timeout %d ms', peer?.score.toFixed(2), peer?.connections[0].rtt?.last.toFixed(2), a.services.health.getTimeout(b.peerId))

const summary = a.services.health.getNetworkHealthSummary()
console.info('summary: %d peers, %d connections, average score %s', summary.peers, summary.connections, summary.averageScore.toFixed(2))
console.info(a.services.health.exportHealthMetrics('prometheus').split('\n').filter(l => l.startsWith('x_health_connection_score')).join('\n'))

await a.stop()
await b.stop()
