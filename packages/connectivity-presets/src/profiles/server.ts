/**
 * `server`: a node on the public internet that others dial, relays for
 * NATed peers and serves the DHT once AutoNAT has verified an address.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { publicAddressesOnly, pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { universalConnectivity } from '@x/universal-connectivity'
import { PUBLIC_BOOTSTRAP_PEERS, SERVER_LISTEN } from '../constants.ts'
import { publicDialsOnly } from '../gater.ts'
import { discovery, topicsOf } from './discovery.ts'
import { nodeLookup } from './node-lookup.ts'
import type { ProfileInit } from './discovery.ts'
import type { PresetServices } from '../index.ts'
import type { Libp2pOptions } from 'libp2p'

export function server (init: ProfileInit): Libp2pOptions<PresetServices> {
  return {
    addresses: { listen: SERVER_LISTEN },
    transports: [tcp(), webSockets(), quic(), webRTCDirect(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: publicDialsOnly({ lookup: nodeLookup }),
    peerDiscovery: discovery(init.bootstrap ?? PUBLIC_BOOTSTRAP_PEERS, [pubsubPeerDiscovery({ addressFilter: publicAddressesOnly, ...topicsOf(init) })]),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(),
      // clientMode unset: kad-dht serves once AutoNAT has verified a public address
      dht: kadDHT({ peerInfoMapper: removePrivateAddressesMapper }),
      autonat: autoNAT(),
      autonatV2: autoNATv2(),
      relay: circuitRelayServer(),
      dcutr: dcutr(),
      connectivity: universalConnectivity(init.connectivity)
    }
  }
}
