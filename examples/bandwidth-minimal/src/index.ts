/* eslint-disable no-console -- an example program prints what it does */
/**
 * @packageDocumentation
 *
 * `@x/bandwidth` in a few lines: node `a` may send 256 KiB/s; a bulk
 * transfer to `b` runs in the `bulk` class while pings in the `interactive`
 * class go ahead of it. Prints the ping times, how long the transfer took,
 * the per-class byte counts and a line of the Prometheus export.
 *
 * @example
 *
 * ```console
 * node examples/bandwidth-minimal/dist/src/index.js
 * ```
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { bandwidthManager } from '@x/bandwidth'
import { createLibp2p } from 'libp2p'

const base = {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
}

const a = await createLibp2p({
  ...base,
  services: {
    ping: ping(),
    bandwidth: bandwidthManager({
      maxUpload: 256 * 1024,
      classes: {
        interactive: { protocols: ['/ipfs/ping/'], priority: 1 },
        bulk: { protocols: ['/example/bulk/'] }
      }
    })
  }
})
const b = await createLibp2p({ ...base, services: { ping: ping() } })
await b.handle('/example/bulk/1.0.0', (stream) => {
  stream.addEventListener('message', () => {})
})

// 512 KiB in the bulk class: two seconds at 256 KiB/s; send() says when to wait
const stream = await a.dialProtocol(b.getMultiaddrs()[0], '/example/bulk/1.0.0')
const started = Date.now()
const transfer = (async () => {
  for (let i = 0; i < 32; i++) {
    if (!stream.send(new Uint8Array(16 * 1024))) {
      await stream.onDrain()
    }
  }

  await stream.close()
})()

// pings go ahead of the queued bulk bytes
for (let i = 0; i < 3; i++) {
  console.info('ping during the transfer: %d ms', await a.services.ping.ping(b.peerId))
}

await transfer
console.info('bulk: 512 KiB sent in %s s', ((Date.now() - started) / 1000).toFixed(1))

const metrics = a.services.bandwidth.getMetrics()
console.info('bulk class sent %d bytes, interactive class sent %d bytes', metrics.classes.bulk.out.total, metrics.classes.interactive.out.total)
console.info(a.services.bandwidth.exportMetrics('prometheus').split('\n').filter(l => l.startsWith('x_bandwidth_class_bytes_total{direction="out"')).join('\n'))

await a.stop()
await b.stop()
