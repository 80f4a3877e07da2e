/* eslint-disable no-console -- an example program prints what it does */
/**
 * @packageDocumentation
 *
 * `@x/pubsub-peer-discovery` in a few lines: B and C know only A; through
 * announcements on gossipsub, B discovers C (and C discovers B).
 *
 * @example
 *
 * ```console
 * node examples/pubsub-discovery-minimal/dist/src/index.js
 * ```
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import type { PeerInfo } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

async function node (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [pubsubPeerDiscovery({ interval: 1_000 })],
    services: {
      identify: identify(),
      // on loopback every peer shares one IP: turn gossipsub's colocation penalty off
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, scoreParams: { IPColocationFactorWeight: 0 } })
    }
  })
}

const [a, b, c] = await Promise.all([node(), node(), node()])

const found = new Promise<PeerInfo>((resolve) => {
  b.addEventListener('peer:discovery', (evt) => {
    if (evt.detail.id.equals(c.peerId)) {
      resolve(evt.detail)
    }
  })
})

// B and C know only A
await b.dial(a.getMultiaddrs()[0])
await c.dial(a.getMultiaddrs()[0])

const info = await found
console.info('B discovered C %s at %s', info.id.toString(), info.multiaddrs.map(String).join(' '))

await b.dial(info.id)
console.info('B dialled C: %d connection(s)', b.getConnections(c.peerId).length)

await Promise.all([a.stop(), b.stop(), c.stop()])
