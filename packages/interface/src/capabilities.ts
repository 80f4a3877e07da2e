/**
 * Capability names: each service lists its own under `[serviceCapabilities]`
 * and the ones it needs under `[serviceDependencies]`, so a missing piece
 * fails at `createLibp2p` with a clear error instead of at first use.
 */

/** Offered by `@x/connection-pool` */
export const CONNECTION_POOL_CAPABILITY = '@x/connection-pool'

/** Offered by `@x/health` */
export const CONNECTION_HEALTH_CAPABILITY = '@x/health'

/** Offered by `@x/pubsub-peer-discovery` (besides `@libp2p/peer-discovery`) */
export const PUBSUB_PEER_DISCOVERY_CAPABILITY = '@x/pubsub-peer-discovery'

/** Offered by `@x/universal-connectivity` */
export const UNIVERSAL_CONNECTIVITY_CAPABILITY = '@x/universal-connectivity'

/** Offered by `@x/message-batching` */
export const MESSAGE_BATCHING_CAPABILITY = '@x/message-batching'

/** Offered by `@x/bandwidth` */
export const BANDWIDTH_CAPABILITY = '@x/bandwidth'

/** Offered by js-libp2p's own services that the suite depends on */
export const LIBP2P_CAPABILITIES = {
  identify: '@libp2p/identify',
  ping: '@libp2p/ping',
  pubsub: '@libp2p/pubsub',
  peerDiscovery: '@libp2p/peer-discovery',
  circuitRelayTransport: '@libp2p/circuit-relay-v2-transport',
  autonat: '@libp2p/autonat',
  dcutr: '@libp2p/dcutr',
  kadDht: '@libp2p/kad-dht'
} as const
