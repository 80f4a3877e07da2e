/**
 * Defaults of `ConnectionHealthInit` and the bounds of every buffer, in one
 * place.
 */

const second = 1000

/** While probes are in flight, the event loop's timer drift is sampled this often (see `loop-lag.ts`) */
export const LAG_SAMPLE_INTERVAL = 50
/** A sample this late or less is not a stall */
export const LAG_TOLERANCE = 20
/** A sample later than this is a clock jump, not a stall */
export const LAG_MAX_DRIFT = 60 * second
/**
 * A probe whose deadline came while this process was stalled waits longer,
 * by the stalled time, up to this many more `pingTimeout`s: the remote gets
 * a whole `pingTimeout` of our awake time to answer where it can
 */
export const STALL_EXTENSION = 1
/**
 * Timeouts in a row (with no answer between) excused because this process
 * was stalled: not counted as failures of the connection. The next one
 * counts, so a dead connection on a starved host is still closed, at most
 * this many checks later
 */
export const MAX_EXCUSED_STALLS = 1

/** RTTs less our own stall kept per connection; their median is what the latency score reads */
export const AWAKE_RTTS = 3

/** Bytes of a ping payload (libp2p ping spec) */
export const PING_LENGTH = 32
/** The first segment of the ping protocol, as `@libp2p/ping` has it */
export const DEFAULT_PROTOCOL_PREFIX = 'ipfs'
export const DEFAULT_PROBE = 'auto'
export const DEFAULT_METRICS_PREFIX = 'x_health_'

export const DEFAULT_CHECK_INTERVAL = 10 * second
export const DEFAULT_CHECK_JITTER = 0.2
export const DEFAULT_PING_TIMEOUT = 5 * second
export const DEFAULT_MAX_CONCURRENT_PROBES = 16
/**
 * Stream probes of a peer run one at a time; a probe unanswered this long
 * (or half the ping timeout, if shorter) lets the next stream probe of that
 * peer start too
 */
export const PEER_PROBE_LEASE = second
/** Stream probes of one peer in flight at once, at most: go-libp2p's resource manager allows a peer two inbound ping streams and resets the rest */
export const MAX_PEER_STREAM_PROBES = 2
export const DEFAULT_MIN_HEALTH_THRESHOLD = 0.5
export const DEFAULT_MIN_CONNECTIONS_PER_PEER = 1
export const DEFAULT_MAX_PING_LATENCY = second
export const DEFAULT_MIN_PING_SUCCESS_RATE = 0.8
export const DEFAULT_MAX_FAILED_STREAMS = 10
export const DEFAULT_UNHEALTHY_CHECKS_BEFORE_REPLACE = 3
export const DEFAULT_WEIGHTS = { latency: 0.4, successRate: 0.4, stability: 0.2 }
export const DEFAULT_REPLACE_GRACE = 10 * second
export const DEFAULT_PROTECTED_TAG = 'x-health-protected'
export const DEFAULT_MIN_TIMEOUT = second
export const DEFAULT_MAX_TIMEOUT = 30 * second

/**
 * With `probe: 'auto'`, a connection probed on its muxer that carried no
 * successful stream for this many checks gets a ping stream instead, so a
 * remote whose muxer answers but whose streams do not is still noticed
 */
export const STREAM_CHECK_EVERY = 30

/** Weight of a new RTT sample in the EWMA */
export const RTT_EWMA_ALPHA = 0.2
/** RTT samples kept per connection for percentiles */
export const RTT_WINDOW = 64
/** Weight of a new probe outcome in the decayed success rate */
export const SUCCESS_DECAY = 0.05
/** Probes in a row without an answer that zero the success component */
export const SILENT_PROBES = 2
/** Timestamped errors kept per connection */
export const ERROR_HISTORY = 32
/** Lifecycle events kept per connection */
export const EVENT_HISTORY = 32
/** Failed streams within this window make up the stability score */
export const STABILITY_WINDOW = 5 * 60 * second
/** The stability window is counted in this many buckets */
export const STABILITY_BUCKETS = 30
/** Score must move by this much for a new `connection:health` event ... */
export const REPORT_STEP = 0.05
/** ... or the RTT EWMA by this fraction of itself ... */
export const REPORT_RTT_RATIO = 0.2
/** ... and at least this many ms, so latency-based routing never works on a stale RTT */
export const REPORT_RTT_MS = 10
/** Worst connections listed in the summary */
export const SUMMARY_WORST = 5

/** Longest hold on replacements of a peer (failed dials, futile replacements) */
export const MAX_REPLACE_BACKOFF = 5 * 60 * second
/** Shortest hold on replacements of a peer after a futile one: at most one futile replacement per peer per minute */
export const FUTILE_HOLD = 60 * second
/** A replacement is judged after this many probes ... */
export const PAYOFF_PROBES = 3
/** ... and pays off when it is healthy, or its RTT is below this share of the replaced one's */
export const PAYOFF_RATIO = 0.8
/** Peers whose replacements are held back, at most (the one held longest ago is let go) */
export const MAX_HELD_PEERS = 1024
/** Replacements awaiting their verdict, at most (the oldest is dropped) */
export const MAX_PENDING_PAYOFFS = 1024
/** Re-dials of a peer whose last connection was closed for being dead */
export const REDIAL_ATTEMPTS = 10
/** Round trips a dial takes (TCP, noise, yamux, identify): replacement dials get this many adaptive timeouts */
export const DIAL_ROUND_TRIPS = 4
