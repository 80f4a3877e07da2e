/**
 * Nodes and request helpers for the benchmarks: TCP, noise, yamux and an
 * echo service, as a user would configure them.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { echo } from '@libp2p/echo'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { messageBatching } from '@x/message-batching'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

export const ECHO = '/echo/1.0.0'

export async function createNode (options: Partial<Libp2pOptions<any>> = {}): Promise<Libp2p<any>> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 5000, maxIncomingPendingConnections: 1000, inboundConnectionThreshold: 10_000 },
    connectionMonitor: { enabled: false },
    ...options,
    services: {
      identify: identify(),
      echo: echo({ maxInboundStreams: 1024, maxOutboundStreams: 1024 }),
      ...options.services
    }
  })
  await node.start()
  return node
}

/**
 * A node for the batching traces: TCP, noise and yamux with only
 * `@x/message-batching` (no identify or echo traffic beside it), without
 * compression, and without flow control when `FLOW=0`; listening on loopback
 * or not at all
 */
export async function createBatchingNode (listen: boolean): Promise<any> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { batching: messageBatching({ compression: false, ...(process.env.FLOW === '0' ? { flowControl: false } : {}) }) }
  })
}

/** Sends `data`, half-closes, resolves with what was echoed */
export async function echoOver (stream: Stream, data: Uint8Array): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  const closed = new Promise<void>((resolve, reject) => {
    stream.addEventListener('close', (evt) => { if (evt.error != null) { reject(evt.error) } else { resolve() } })
  })
  stream.addEventListener('message', (evt) => { received.append(evt.data) })

  if (!stream.send(data)) {
    await pEvent(stream, 'drain', { rejectionEvents: ['close'] })
  }

  await stream.close()
  await closed
  return received.subarray()
}
