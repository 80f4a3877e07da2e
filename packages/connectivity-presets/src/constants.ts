/**
 * Defaults of the presets.
 */

/** The public libp2p bootstrap peers (as in js-libp2p's and kubo's defaults) */
export const PUBLIC_BOOTSTRAP_PEERS = [
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt',
  '/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ'
]

/** Where a server listens: every interface, TCP, WebSockets, QUIC and WebRTC Direct */
export const SERVER_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws', '/ip4/0.0.0.0/udp/0/quic-v1', '/ip4/0.0.0.0/udp/0/webrtc-direct']

/** Where a browser listens: on relays, and for WebRTC from other browsers */
export const BROWSER_LISTEN = ['/p2p-circuit', '/webrtc']

/** Where a private-network node listens: every interface, TCP and WebSockets */
export const PRIVATE_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']

/** Where a development node listens: loopback, TCP, WebSockets and QUIC */
export const DEVELOPMENT_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/quic-v1']

/** Discovery and NAT check interval of the development profile, ms */
export const DEVELOPMENT_INTERVAL = 1_000

/**
 * Inbound connections a development node accepts per second from one host
 * (`inboundConnectionThreshold`), and upgrading at once from all hosts
 * (`maxIncomingPendingConnections`). Every node of a local swarm dials from
 * 127.0.0.1, and libp2p's defaults (5 per second per host, 10 pending) reset
 * the rest of a swarm's start: a connection pool reads each reset as the
 * peer refusing another connection. `maxConnections` (libp2p's 300) still
 * bounds the node's connections.
 */
export const DEVELOPMENT_INBOUND_CONNECTIONS = 256

/** The kad-dht protocol of the private profile (kept apart from the public DHT) */
export const PRIVATE_DHT_PROTOCOL = '/x/private/kad/1.0.0'

/** The kad-dht protocol of the development profile */
export const DEVELOPMENT_DHT_PROTOCOL = '/x/dev/kad/1.0.0'
