/**
 * Defaults of `UniversalConnectivityInit`, resolved once in the constructor.
 */

const second = 1_000

/** How long `dialPeer` tries the direct addresses before falling back to a relay */
export const DEFAULT_DIRECT_DIAL_TIMEOUT = 5 * second

/** How long `dialPeer` tries each relayed address */
export const DEFAULT_RELAY_DIAL_TIMEOUT = 10 * second

/** How long `dialPeer` waits for DCUtR to replace a relayed connection with a direct one */
export const DEFAULT_UPGRADE_TIMEOUT = 15 * second

/** How long after a relayed connection opens a direct one still counts as its DCUtR upgrade */
export const DEFAULT_HOLE_PUNCH_WINDOW = 30 * second

/**
 * How long after the last DCUtR exchange was seen (its stream arriving, or
 * open when sampled) a direct connection still counts as its hole punch:
 * the receiver dials at SYNC and the initiator half an RTT later, each for at
 * most 10 s in go-libp2p (`DirectDialTimeout`) and `@x/hole-punching`, 5 s in
 * `@libp2p/dcutr`
 */
export const DCUTR_EXCHANGE_GRACE = 15 * second

/** The most relayed connections waiting for an upgrade at once (oldest are settled as failures first) */
export const DEFAULT_MAX_PENDING_UPGRADES = 1_000

/** The most discovered peers remembered (least recently seen are forgotten first) */
export const DEFAULT_MAX_PEERS = 5_000

/** The most relays `dialPeer` tries for one peer */
export const DEFAULT_MAX_RELAY_ATTEMPTS = 3

/** How often the NAT status is re-evaluated even without an address event */
export const DEFAULT_NAT_CHECK_INTERVAL = 10 * second

/** The most outcomes kept for the recent DCUtR history in the metrics */
export const DEFAULT_MAX_HOLE_PUNCH_HISTORY = 100

/** How often watched relayed connections are sampled for a DCUtR stream */
export const DCUTR_POLL_INTERVAL = 50

/** The most peers whose health scores are remembered for ordering relays */
export const MAX_HEALTH_PEERS = 1_024

/** The score a relay health has not measured is ordered by (between a good and a bad one) */
export const UNMEASURED_RELAY_SCORE = 0.5

/** The DCUtR protocol id, as js-libp2p and go-libp2p register it */
export const DCUTR_PROTOCOL = '/libp2p/dcutr'

/** Prefix of the metric names (see `metrics.ts` for the names after it) */
export const DEFAULT_METRICS_PREFIX = 'x_connectivity_'
