/**
 * Defaults of `PubSubPeerDiscoveryInit`, resolved once in the constructor.
 */

const second = 1000

/** The official module's topic; both modules meet on it */
export const TOPIC = '_peer-discovery._p2p._pubsub'

export const DEFAULT_INTERVAL = 10 * second
export const DEFAULT_JITTER = 0.1
export const DEFAULT_TARGET_ANNOUNCEMENTS = 6
/**
 * The longest period, in intervals, the size estimate can stretch our
 * announcements to (S2): keys that each announce twice look like nodes, so
 * the estimate is capped; a topic of up to 192 nodes is not affected
 */
export const DEFAULT_MAX_PERIOD = 32
export const DEFAULT_ANNOUNCE_DEBOUNCE = second
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024
export const DEFAULT_MAX_ADDRESSES = 64
export const DEFAULT_MAX_PEERS = 1024
export const DEFAULT_RATE_LIMIT = 4
export const DEFAULT_MAX_EXCHANGED_PEERS = 64
export const DEFAULT_MAX_VERIFICATIONS_PER_INTERVAL = 256
export const DEFAULT_MAX_NEW_PEERS_PER_INTERVAL = 128
export const DEFAULT_METRICS_PREFIX = 'x_pubsub_discovery_'
export const DEFAULT_NAME_RESOLUTION_TIMEOUT = 5 * second

/** DNS lookups of other peers' names in flight at once, node-wide; a name beyond is dropped unless it can take the slot of an old one (LOOKUP_PREEMPTIBLE_AFTER) */
export const MAX_PENDING_NAME_LOOKUPS = 32

/**
 * A DNS lookup in flight this long, ms, may be aborted (its name dropped)
 * to make room for a new one when MAX_PENDING_NAME_LOOKUPS are in flight,
 * oldest first: answers come within tens of ms, and names that never
 * answer must not hold every slot for `nameResolutionTimeout`
 */
export const LOOKUP_PREEMPTIBLE_AFTER = 500

/** Distinct DNS names of one announcement or record that are looked up; addresses with other names are dropped */
export const MAX_NAMES_PER_ANNOUNCEMENT = 8

/**
 * DNS names looked up for one author (the peer that announced or relayed
 * them) per interval, token bucket: its announcements and records share
 * them; names beyond are dropped, not queued
 */
export const MAX_NAME_LOOKUPS_PER_AUTHOR = 8

/** Authors whose DNS lookups per interval are tracked at once, least recently seen forgotten first */
export const MAX_TRACKED_NAME_AUTHORS = 4096

/**
 * Names of authors not connected to us looked up per interval, node-wide.
 * A forming topic needs about one lookup per peer announcing a name per
 * interval (every peer announces every interval while warming up), so 128
 * covers topics of up to about 128 such peers forming at once (64 dropped
 * the names of the rest); a lookup is one or two small queries to the
 * resolver, and emptying the budget costs fresh keys twice as many messages
 */
export const DEFAULT_MAX_NAME_LOOKUPS_PER_INTERVAL = 128

/**
 * Names of authors connected to us looked up per interval, node-wide, as a
 * multiple of `maxNameLookupsPerInterval` (token bucket, apart from the
 * budget of authors not connected to us, which fresh keys spend): each
 * connection brings its author's own 8, so without it a peer holding many
 * connections to us would bound our lookups by nothing but its connections
 */
export const CONNECTED_NAME_LOOKUPS_FACTOR = 2

/** Addresses a pinned DNS name (A4) is replaced by, at most: the first ones it resolved to */
export const MAX_PINNED_PER_NAME = 8

/**
 * Addresses that DNS names resolve to judged by the incoming filter per
 * announcement or record (each address carrying a name is judged with
 * every address its name resolves to); an address whose turn would exceed
 * it is dropped, so a name server answering with thousands of addresses
 * costs a bounded amount of CPU
 */
export const MAX_RESOLVED_CHECKS = 256

/**
 * Peers we learn from the records one author relays, in all, while we are
 * joining (an honest relay sends up to `maxExchangedPeers` per message)
 */
export const MAX_LEARNED_PER_RELAY = 64

/** Relaying authors whose learned peers we count at once */
export const MAX_TRACKED_RELAYS = 64

/**
 * Relayed records accepted in one message (more: the message is dropped);
 * the size limit bounds them too
 */
export const MAX_PEER_RECORDS_PER_MESSAGE = 256

/**
 * When a peer connected to us joins, this many of our next announcements
 * (the answer, and the one about an interval later) carry the records of
 * the peers we heard
 */
export const EXCHANGES_PER_JOIN = 2

/** Joining peers whose own records we leave out of our relayed ones */
export const MAX_TRACKED_JOINERS = 64

/**
 * A node answers a joining peer connected to it within this fraction of an
 * interval (nodes not connected to it never answer it)
 */
export const RELAY_ANSWER_WINDOW = 1 / 8

/**
 * The first announcement waits this long for more subscribers after the
 * first one appears (or `announceDebounce`, if shorter), ms
 */
export const FIRST_SUBSCRIBER_DELAY = 100

/** Peers count as unheard after this many of their announcement periods */
export const PEER_TTL_PERIODS = 4

/** Authors (and topics) whose rate we track at once; also the seqnos of authors on probation */
export const MAX_TRACKED_AUTHORS = 4096

/**
 * A peer not connected to us that announces itself again this many
 * intervals after we first heard it is established: it counts in the size
 * estimate and is evicted from the peers heard after fresh keys
 * (PROTOCOL.md, R16). Half an interval: two announcements of a node are at
 * least that far apart (S3), the first and debounced ones aside
 */
export const ESTABLISHED_AFTER = 0.5

/**
 * Seqnos of established authors (connected to us, or admitted twice) kept
 * at once: one is replaced only by a newcomer once it has not been
 * admitted within its ttl (see sequence-numbers.ts)
 */
export const MAX_ESTABLISHED_AUTHORS = 4096

/**
 * After start a node announces every interval for this many intervals, so
 * that gossip which reaches only part of a large topic at a time (mesh
 * degree, gossip windows) still tells everyone about it soon
 */
export const WARMUP_INTERVALS = 3

/**
 * Past WARMUP_INTERVALS a node keeps announcing every interval while it
 * heard a new peer in the last interval (the swarm is still forming), but
 * never longer than this after its start
 */
export const MAX_WARMUP_INTERVALS = 10

/**
 * A peer connected to us and first heard less than this many intervals ago
 * counts as joining: if it runs the official module (it sends no record),
 * its announcements are answered (within the answer budget), as it may
 * have missed our first answer while its gossipsub mesh was forming
 */
export const YOUNG_PEER_INTERVALS = 3

/**
 * The direct exchange (PROTOCOL.md D1-D5): a joining node sends its
 * announcement to each peer it dials, which answers with its own and the
 * records of the peers it heard, without waiting for gossipsub's streams
 */
export const EXCHANGE_PROTOCOL = '/x/pubsub-peer-discovery/exchange/1.0.0'

/** Answers to direct exchanges per interval, node-wide (D4); an exchange over it is closed unanswered */
export const MAX_EXCHANGE_ANSWERS_PER_INTERVAL = 64

/**
 * Peers a joining node opens a direct exchange with, at most, since start
 * (D1): it stops at the first answer anyway, so these are for dials whose
 * exchange failed
 */
export const MAX_EXCHANGES_OPENED = 8

/** A direct exchange ends within this many intervals, answered or not (D5) */
export const EXCHANGE_TIMEOUT_INTERVALS = 1
