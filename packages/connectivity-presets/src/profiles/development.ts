/**
 * `development`: every piece on loopback with short intervals, so a few
 * local nodes find each other in seconds.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { universalConnectivity } from '@x/universal-connectivity'
import { DEVELOPMENT_DHT_PROTOCOL, DEVELOPMENT_INBOUND_CONNECTIONS, DEVELOPMENT_INTERVAL, DEVELOPMENT_LISTEN } from '../constants.ts'
import { discovery, topicsOf } from './discovery.ts'
import type { ProfileInit } from './discovery.ts'
import type { PresetServices } from '../index.ts'
import type { Libp2pOptions } from 'libp2p'

export function development (init: ProfileInit): Libp2pOptions<PresetServices> {
  return {
    addresses: { listen: DEVELOPMENT_LISTEN },
    transports: [tcp(), webSockets(), quic(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // loopback and private addresses are what a development swarm dials
    connectionGater: { denyDialMultiaddr: () => false },
    // every local node connects from 127.0.0.1: libp2p's per-host limits would read them as one host
    connectionManager: { inboundConnectionThreshold: DEVELOPMENT_INBOUND_CONNECTIONS, maxIncomingPendingConnections: DEVELOPMENT_INBOUND_CONNECTIONS },
    peerDiscovery: discovery(init.bootstrap ?? [], [mdns({ interval: DEVELOPMENT_INTERVAL }), pubsubPeerDiscovery({ interval: DEVELOPMENT_INTERVAL, ...topicsOf(init) })]),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      dht: kadDHT({ clientMode: false, protocol: DEVELOPMENT_DHT_PROTOCOL, peerInfoMapper: passthroughMapper }),
      autonat: autoNAT(),
      relay: circuitRelayServer(),
      dcutr: dcutr(),
      connectivity: universalConnectivity({ natCheckInterval: DEVELOPMENT_INTERVAL, ...init.connectivity })
    }
  }
}
