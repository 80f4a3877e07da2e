/* eslint-disable no-console -- an example program prints what it does */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { messageBatching } from '@x/message-batching'
import { createLibp2p } from 'libp2p'

const base = {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
}

const a = await createLibp2p({ ...base, services: { batching: messageBatching() } })
const b = await createLibp2p({ ...base, services: { batching: messageBatching() } })

let received = 0
b.services.batching.handle('chat', (data, { priority }) => {
  received++
  if (received === 1 || received === 1000) {
    console.info('b got message %d (%s): %s', received, priority, new TextDecoder().decode(data))
  }
})
b.services.batching.handle('upper', (data) => new TextEncoder().encode(new TextDecoder().decode(data).toUpperCase()))

await a.dial(b.getMultiaddrs()[0])

// 1,000 small messages: they share a few batches on one stream
await Promise.all(Array.from({ length: 1000 }, async (_, i) =>
  a.services.batching.send(b.peerId, 'chat', new TextEncoder().encode(`message ${i}`), { priority: i === 999 ? 'high' : 'normal' })
))

// a request over the same stream, answered by b's handler
const answer = await a.services.batching.request(b.peerId, 'upper', new TextEncoder().encode('hello'))
console.info('b answered: %s', new TextDecoder().decode(answer))

const metrics = a.services.batching.getMetrics()
console.info('a sent %d messages in %d batches (mean %s), %d bytes on the stream', metrics.messagesSent, metrics.batchesSent, metrics.meanBatchSize.toFixed(1), metrics.bytesAfterCompression)

await a.stop()
await b.stop()
