/**
 * Defaults and bounds of the hole punching service, in one place.
 */

/** The DCUtR protocol (libp2p/specs relay/DCUtR.md) */
export const PROTOCOL = '/libp2p/dcutr'

/** How long one CONNECT/SYNC exchange may take */
export const DEFAULT_EXCHANGE_TIMEOUT = 10_000

/** How long one punch (the simultaneous TCP connect and the upgrade) may take */
export const DEFAULT_DIAL_TIMEOUT = 10_000

/** Exchanges the initiator runs before it gives up; only a failed punch leads to another (go-libp2p's `maxRetries`) */
export const DEFAULT_MAX_ATTEMPTS = 3

/**
 * go-libp2p's initiator switches its security role on its third attempt (for
 * peers older than go-libp2p 0.41); a receiver mirrors that switch on a peer's
 * third CONNECT within `ATTEMPT_WINDOW`
 */
export const ROLE_SWITCH_ATTEMPT = 3

/**
 * A receiver counts a peer's CONNECTs within this window as attempts of one
 * hole punch; an exchange that fails starts the count over (the initiator
 * gives up then, as go-libp2p's does)
 */
export const ATTEMPT_WINDOW = 60_000

/** Distinct observers (remote IPs, one per IPv4 address or IPv6 /56) whose observation of our NAT's address must agree before we advertise it */
export const DEFAULT_MIN_OBSERVERS = 2

/** Observed addresses kept (distinct IPs); the least recently seen is dropped first */
export const MAX_OBSERVED_IPS = 16

/**
 * How long an observer's report of our address still counts after the last
 * connection it was made over closed (go-libp2p drops observations with
 * their connection; this keeps them a while for short-lived connections,
 * such as AutoNAT dial-backs)
 */
export const OBSERVER_TTL = 10 * 60_000

/** Open observing connections remembered per observer (the oldest is forgotten first) */
export const MAX_CONNECTIONS_PER_OBSERVER = 8

/** Observers remembered per observed IP */
export const MAX_OBSERVERS_PER_IP = 32

/** Hole punches running at once; more are refused and counted */
export const DEFAULT_MAX_CONCURRENT = 8

/** Peers whose receiver attempts are counted at once */
export const MAX_TRACKED_PEERS = 256

/**
 * A receiver picks a port for a peer's first CONNECT when its relayed
 * connection to the peer opens; a port picked longer ago than this is not
 * used (the OS may have handed it out since), a fresh one is picked instead
 */
export const SPARE_PORT_MAX_AGE = 10_000

/** Remote addresses dialled from the pre-picked port in one punch */
export const MAX_DIALLED_ADDRS = 4

/** Addresses read from one CONNECT (more are ignored) */
export const MAX_CONNECT_ADDRS = 32

/** Largest DCUtR message accepted (go-libp2p uses 4 KiB too) */
export const MAX_MESSAGE_SIZE = 4096

/** Outcomes kept for `getOutcomes()` */
export const MAX_OUTCOMES = 64

/** Inactivity timeout of a punched socket before libp2p's muxer keeps it busy */
export const SOCKET_INACTIVITY_TIMEOUT = 2 * 60_000

/**
 * How long an initiator keeps trying a peer that does not speak
 * `/libp2p/dcutr` yet (go-libp2p registers it only once it knows a public
 * address of its own) before it gives up on that peer
 */
export const PROTOCOL_WAIT = 30_000

/**
 * Until then, an initiator tries the exchange again this long after the
 * peer refused the protocol, even if it heard no identify push announcing it
 */
export const PROTOCOL_RECHECK = 2_000

/** The identify protocol whose exchange with the peer an initiator lets finish before its SYNC (`@libp2p/identify`'s default prefix) */
export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'

/** The identify push protocol: go-libp2p handles a push of ours as it does our identify answer (`@libp2p/identify`'s default prefix) */
export const IDENTIFY_PUSH_PROTOCOL = '/ipfs/id/push/1.0.0'

/**
 * How long an initiator waits, after the peer's CONNECT, for identify with
 * the peer to be over both ways before it sends SYNC anyway. go-libp2p
 * expires the addresses a SYNC makes it dial when its identify of us
 * completes (see service.ts `identifyOver`)
 */
export const IDENTIFY_WAIT = 1_000

export const DEFAULT_METRICS_PREFIX = 'x_hole_punching_'
