/**
 * Whole `createLibp2p` options per kind of node. Every transport and service
 * a profile's documentation names is in the options it returns.
 *
 * | profile | transports | discovery | services |
 * | --- | --- | --- | --- |
 * | `server` | TCP, WebSockets, WebRTC Direct, circuit relay | bootstrap (public list), pubsub | identify, ping, gossipsub, kad-dht (server, public addresses only), AutoNAT v1 + v2, relay server, DCUtR, connectivity |
 * | `browser` | WebSockets, WebTransport, WebRTC, WebRTC Direct, circuit relay (listening on `/p2p-circuit` and `/webrtc`) | bootstrap (public list), pubsub | identify, ping, gossipsub, DCUtR, connectivity (no mDNS, no relay server) |
 * | `private` | TCP, WebSockets, behind a pre-shared key (`@libp2p/pnet`) | mDNS, bootstrap (only `overrides.bootstrap`), pubsub | identify, ping, gossipsub, kad-dht (private addresses only), connectivity |
 * | `development` | TCP, WebSockets, circuit relay, on loopback | mDNS, pubsub (1 s intervals), bootstrap if given | identify, ping, gossipsub, kad-dht (all addresses), AutoNAT, relay server, DCUtR, connectivity |
 *
 * Not included, and why:
 * - QUIC: `@chainsafe/libp2p-quic` 2.1 does not work with libp2p 3.3
 * (listening fails with `ma.nodeAddress is not a function`); the server
 * profile offers WebRTC Direct as its UDP transport instead.
 * - On Node, WebTransport and WebRTC (browser-to-browser) can be constructed
 * but WebTransport can neither dial (no global `WebTransport`) nor listen;
 * the browser profile is meant for bundlers. Its options build and start on
 * Node, where it reaches peers over WebSockets and relays.
 * - The private profile has no WebRTC or relay transport: a pre-shared key
 * protects only stream-oriented transports (TCP, WebSockets).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, removePublicAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { webTransport } from '@libp2p/webtransport'
import { publicAddressesOnly, pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { MissingSwarmKeyError, UnknownProfileError } from './errors.ts'
import { universalConnectivity } from './index.ts'
import type { UniversalConnectivity, UniversalConnectivityInit } from './index.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { PeerDiscovery } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Libp2pOptions } from 'libp2p'

/** Services of a preset, by key (`identify`, `ping`, `pubsub`, `dht`, `autonat`, `relay`, `dcutr`, `connectivity`...) */
export interface PresetServices {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  connectivity: UniversalConnectivity
  dht?: KadDHT
  relay?: CircuitRelayService
  [name: string]: unknown
}

export type ConnectivityProfile = 'server' | 'browser' | 'private' | 'development'

/** The public libp2p bootstrap peers (as in js-libp2p's and kubo's defaults) */
export const PUBLIC_BOOTSTRAP_PEERS = [
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt',
  '/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ'
]

export interface PresetOverrides extends Libp2pOptions<PresetServices> {
  /** Bootstrap peers replacing the profile's list; `[]` turns bootstrap off */
  bootstrap?: string[]
  /** The private network's swarm key (`generateKey` of `@libp2p/pnet`); required by `private` */
  swarmKey?: Uint8Array
  /** Options for the connectivity service */
  connectivity?: UniversalConnectivityInit
  /** Topics for pubsub peer discovery (its default topic when unset) */
  discoveryTopics?: string[]
}

const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

/**
 * `createLibp2p` options for a profile. Plain `Libp2pOptions` fields in
 * `overrides` replace the profile's; `overrides.services` is merged key by
 * key (set a key to `undefined` to drop a service).
 */
export function connectivityPreset (profile: ConnectivityProfile, overrides: PresetOverrides = {}): Libp2pOptions<PresetServices> {
  const { bootstrap: bootstrapList, swarmKey, connectivity, discoveryTopics, services, ...rest } = overrides
  const base = build(profile, { bootstrapList, swarmKey, connectivity, discoveryTopics })
  const merged: Libp2pOptions<PresetServices> = { ...base, ...rest, services: { ...base.services } as Libp2pOptions<PresetServices>['services'] }

  for (const [name, factory] of Object.entries(services ?? {})) {
    if (factory == null) {
      delete merged.services?.[name]
    } else if (merged.services != null) {
      merged.services[name] = factory
    }
  }

  return merged
}

interface BuildInit {
  bootstrapList?: string[]
  swarmKey?: Uint8Array
  connectivity?: UniversalConnectivityInit
  discoveryTopics?: string[]
}

function discovery (list: string[], extra: Array<(components: any) => PeerDiscovery>): Array<(components: any) => PeerDiscovery> {
  return list.length > 0 ? [bootstrap({ list }), ...extra] : extra
}

function build (profile: ConnectivityProfile, init: BuildInit): Libp2pOptions<PresetServices> {
  const topics = init.discoveryTopics != null ? { topics: init.discoveryTopics } : {}

  switch (profile) {
    case 'server':
      return {
        addresses: { listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws', '/ip4/0.0.0.0/udp/0/webrtc-direct'] },
        transports: [tcp(), webSockets(), webRTCDirect(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: discovery(init.bootstrapList ?? PUBLIC_BOOTSTRAP_PEERS, [pubsubPeerDiscovery({ addressFilter: publicAddressesOnly, ...topics })]),
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub(),
          dht: kadDHT({ clientMode: false, peerInfoMapper: removePrivateAddressesMapper }),
          autonat: autoNAT(),
          autonatV2: autoNATv2(),
          relay: circuitRelayServer(),
          dcutr: dcutr(),
          connectivity: universalConnectivity(init.connectivity)
        }
      }
    case 'browser':
      return {
        addresses: { listen: ['/p2p-circuit', '/webrtc'] },
        transports: [webSockets(), webTransport(), webRTC(), webRTCDirect(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: discovery(init.bootstrapList ?? PUBLIC_BOOTSTRAP_PEERS, [pubsubPeerDiscovery(topics)]),
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub(),
          dcutr: dcutr(),
          connectivity: universalConnectivity(init.connectivity)
        }
      }
    case 'private':
      if (init.swarmKey == null) {
        throw new MissingSwarmKeyError('the private profile needs overrides.swarmKey (generate one with generateKey from @libp2p/pnet)')
      }

      return {
        addresses: { listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'] },
        transports: [tcp(), webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionProtector: preSharedKey({ psk: init.swarmKey }),
        peerDiscovery: discovery(init.bootstrapList ?? [], [mdns(), pubsubPeerDiscovery(topics)]),
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub(),
          dht: kadDHT({ clientMode: false, protocol: '/x/private/kad/1.0.0', peerInfoMapper: removePublicAddressesMapper }),
          connectivity: universalConnectivity(init.connectivity)
        }
      }
    case 'development':
      return {
        addresses: { listen: LOOPBACK_LISTEN },
        transports: [tcp(), webSockets(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: () => false },
        peerDiscovery: discovery(init.bootstrapList ?? [], [mdns({ interval: 1_000 }), pubsubPeerDiscovery({ interval: 1_000, ...topics })]),
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
          dht: kadDHT({ clientMode: false, protocol: '/x/dev/kad/1.0.0', peerInfoMapper: passthroughMapper }),
          autonat: autoNAT(),
          relay: circuitRelayServer(),
          dcutr: dcutr(),
          connectivity: universalConnectivity({ natCheckInterval: 1_000, ...init.connectivity })
        }
      }
    default:
      throw new UnknownProfileError(`unknown profile ${String(profile)}; use server, browser, private or development`)
  }
}
