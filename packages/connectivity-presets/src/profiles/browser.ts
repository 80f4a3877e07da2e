/**
 * `browser`: a node in a web page. Nothing here imports a Node built-in
 * (no TCP, no mDNS, no QUIC), so a bundler can build it for the browser.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { webTransport } from '@libp2p/webtransport'
import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { universalConnectivity } from '@x/universal-connectivity'
import { BROWSER_LISTEN, PUBLIC_BOOTSTRAP_PEERS } from '../constants.ts'
import { discovery, topicsOf } from './discovery.ts'
import type { ProfileInit } from './discovery.ts'
import type { PresetServices } from '../index.ts'
import type { Libp2pOptions } from 'libp2p'

export function browser (init: ProfileInit): Libp2pOptions<PresetServices> {
  return {
    addresses: { listen: BROWSER_LISTEN },
    transports: [webSockets(), webTransport(), webRTC(), webRTCDirect(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery(init.bootstrap ?? PUBLIC_BOOTSTRAP_PEERS, [pubsubPeerDiscovery(topicsOf(init))]),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(),
      dcutr: dcutr(),
      connectivity: universalConnectivity(init.connectivity)
    }
  }
}
