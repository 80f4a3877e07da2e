/**
 * `private`: a node of a private network, behind a pre-shared key. The key
 * protects stream-oriented transports only (TCP, WebSockets), so there is
 * no QUIC, WebRTC or relay.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { universalConnectivity } from '@x/universal-connectivity'
import { PRIVATE_DHT_PROTOCOL, PRIVATE_LISTEN } from '../constants.ts'
import { MissingSwarmKeyError } from '../errors.ts'
import { discovery, topicsOf } from './discovery.ts'
import type { ProfileInit } from './discovery.ts'
import type { PresetServices } from '../index.ts'
import type { Libp2pOptions } from 'libp2p'

export function privateNetwork (init: ProfileInit): Libp2pOptions<PresetServices> {
  if (init.swarmKey == null) {
    throw new MissingSwarmKeyError('the private profile needs overrides.swarmKey (generate one with generateKey from @libp2p/pnet)')
  }

  return {
    addresses: { listen: PRIVATE_LISTEN },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk: init.swarmKey }),
    peerDiscovery: discovery(init.bootstrap ?? [], [mdns(), pubsubPeerDiscovery(topicsOf(init))]),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(),
      // every member of a private network is reachable by the others: serve the DHT from the start
      dht: kadDHT({ clientMode: false, protocol: PRIVATE_DHT_PROTOCOL, peerInfoMapper: removePublicAddressesMapper }),
      connectivity: universalConnectivity(init.connectivity)
    }
  }
}
