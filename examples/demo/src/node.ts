/**
 * One node of the demo swarm: the `development` preset of
 * `@x/connectivity-presets` narrowed to TCP on loopback, with the pool,
 * health and echo services added, discovery through one bootstrap address
 * plus `@x/pubsub-peer-discovery`, and a relay server on the first node.
 */
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { echo } from '@libp2p/echo'
import { gossipsub } from '@libp2p/gossipsub'
import { tcp } from '@libp2p/tcp'
import { bandwidthManager } from '@x/bandwidth'
import { connectionPool } from '@x/connection-pool'
import { connectivityPreset } from '@x/connectivity-presets'
import { connectionHealth } from '@x/health'
import { messageBatching, FLOW_PROTOCOL as BATCH_FLOW_PROTOCOL, PROTOCOL as BATCH_PROTOCOL } from '@x/message-batching'
import { pubsubPeerDiscovery } from '@x/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import { MetricsRegistry } from './registry.ts'
import type { ConnectionGater, PeerDiscovery } from '@libp2p/interface'
import type { BandwidthManager } from '@x/bandwidth'
import type { ConnectionPool } from '@x/connection-pool'
import type { PresetServices } from '@x/connectivity-presets'
import type { ConnectionHealth } from '@x/health'
import type { MessageBatching } from '@x/message-batching'
import type { PubSubPeerDiscovery } from '@x/pubsub-peer-discovery'
import type { Libp2p } from 'libp2p'

export const ECHO_PROTOCOL = '/echo/1.0.0'
/** Bulk bytes, read and dropped: the bandwidth manager's `bulk` class */
export const BULK_PROTOCOL = '/x/demo/bulk/1.0.0'
/** The `bulk` class's rate cap, bytes/s each way, so interactive traffic keeps its room */
export const BULK_RATE = 64 * 1024

export interface DemoServices extends PresetServices {
  pool: ConnectionPool
  health: ConnectionHealth
  batching: MessageBatching
  bandwidth: BandwidthManager
  echo: unknown
}

export type DemoLibp2p = Libp2p<DemoServices>

/** Timings of the health service; short so a person sees it react */
export interface DemoTimings {
  /** ms between health checks */
  checkInterval: number
  /** ms between discovery announcements */
  discoveryInterval: number
}

export const DEFAULT_TIMINGS: DemoTimings = {
  checkInterval: 1_000,
  discoveryInterval: 1_000
}

export interface DemoNodeInit {
  /** Multiaddr (with /p2p) of the node everyone bootstraps from; none for that node itself */
  bootstrap?: string
  /** Run a circuit relay server */
  relay: boolean
  /** Listen on this TCP port (0: any) */
  port: number
  /** Addresses to announce instead of the listen address */
  announce?: string[]
  /** Also listen on a relay (reserve a slot on one) */
  relayed?: boolean
  /** Cap the `bulk` class at `BULK_RATE` (the sender of the fault link's bulk transfer) */
  bulkSender?: boolean
  gater: ConnectionGater
  timings: DemoTimings
}

/** Each node's pubsub discovery module (not reachable through `node.services`) */
export const discoveries = new WeakMap<DemoLibp2p, PubSubPeerDiscovery>()

/** Each node's libp2p `metrics` component: what its services registered, for `/metrics` */
export const registries = new WeakMap<DemoLibp2p, MetricsRegistry>()

export async function createDemoNode (init: DemoNodeInit): Promise<DemoLibp2p> {
  let pubsubDiscovery: PubSubPeerDiscovery | undefined
  const factory = pubsubPeerDiscovery({ interval: init.timings.discoveryInterval })
  const discovery: Array<(components: any) => PeerDiscovery> = [
    (components) => {
      pubsubDiscovery = factory(components)
      return pubsubDiscovery
    }
  ]

  if (init.bootstrap != null) {
    discovery.unshift(bootstrap({ list: [init.bootstrap], timeout: 100 }))
  }

  const registry = new MetricsRegistry()
  const options = connectivityPreset('development', {
    addresses: {
      listen: [`/ip4/127.0.0.1/tcp/${init.port}`, ...(init.relayed === true ? ['/p2p-circuit'] : [])],
      announce: init.announce
    },
    transports: [tcp(), circuitRelayTransport()],
    peerDiscovery: discovery,
    connectionGater: init.gater,
    // @x/health probes every connection itself; libp2p's monitor would race it for the ping stream
    connectionMonitor: { enabled: false },
    metrics: () => registry,
    connectivity: { natCheckInterval: 2_000 },
    services: {
      // loopback swarms need the IP colocation penalty off, or gossipsub graylists peers
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, scoreParams: { IPColocationFactorWeight: 0 } }),
      dht: undefined,
      // the preset's relay server stays on the relay node only
      ...(init.relay ? {} : { relay: undefined }),
      pool: connectionPool({ maxConnectionsPerPeer: 3, strategy: 'health-based', maintenanceInterval: 2_000 }),
      health: connectionHealth({
        checkInterval: init.timings.checkInterval,
        pingTimeout: Math.max(500, init.timings.checkInterval),
        // the fault cycle's +150 ms each way puts 300 ms on its connection, well past this;
        // loopback connections only pass it when a loaded machine stalls the event loop for
        // long (100 ms had every connection replaced over and over under load)
        maxPingLatency: 200,
        unhealthyChecksBeforeReplace: 3,
        replaceGrace: 2_000,
        minTimeout: 500
      }),
      echo: echo(),
      // small messages and requests over one stream per peer, through the pool
      batching: messageBatching(),
      // every stream classified: echo and batches interactive (served first), bulk below them;
      // the bulk sender caps its bulk class (a class rate also shapes downloads, which no other node needs)
      bandwidth: bandwidthManager({
        classes: {
          interactive: { protocols: [ECHO_PROTOCOL, BATCH_FLOW_PROTOCOL, BATCH_PROTOCOL], priority: 1 },
          bulk: { protocols: [BULK_PROTOCOL], ...(init.bulkSender === true ? { maxRate: BULK_RATE } : {}) }
        }
      })
    } as any
  })

  const node = await createLibp2p(options) as unknown as DemoLibp2p

  registries.set(node, registry)

  if (pubsubDiscovery != null) {
    discoveries.set(node, pubsubDiscovery)
  }

  return node
}
