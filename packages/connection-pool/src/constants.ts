/**
 * Defaults of `ConnectionPoolInit`, resolved once in the constructor.
 */

const second = 1000

export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 3
export const DEFAULT_MIN_CONNECTIONS_PER_PEER = 1
export const DEFAULT_MAX_CONNECTIONS = 300
export const DEFAULT_MAX_PEERS = 1000
export const DEFAULT_DIAL_TIMEOUT = 10 * second
export const DEFAULT_STREAM_OPEN_TIMEOUT = 10 * second
export const DEFAULT_IDLE_TIMEOUT = 5 * 60 * second
export const DEFAULT_MAINTENANCE_INTERVAL = 10 * second

export const DEFAULT_MAX_RETRIES = 3
export const DEFAULT_INITIAL_DELAY = 500
export const DEFAULT_MAX_DELAY = 10 * second
export const DEFAULT_BACKOFF_MULTIPLIER = 2
export const DEFAULT_JITTER_FACTOR = 0.2

/** Health scores within this of the best count as equal (0..1 scale) */
export const DEFAULT_SCORE_TOLERANCE = 0.05
/** RTTs within this many ms of the best count as equal ... */
export const DEFAULT_LATENCY_TOLERANCE_MS = 5
/** ... or within this fraction of the best, whichever is larger */
export const DEFAULT_LATENCY_TOLERANCE_RATIO = 0.1

/** Peer-store tag that keeps pooled peers from being pruned */
export const DEFAULT_TAG_NAME = 'x-connection-pool'
export const DEFAULT_TAG_VALUE = 100

/** Samples kept for the average and p95 time to open a stream */
export const STREAM_TIMING_SAMPLES = 1024
/** Window over which streams per second are counted */
export const STREAM_RATE_WINDOW = 10 * second

/**
 * A connection the pool opened that the remote closes within this many ms
 * of the dial completing (go-libp2p closes refused ones within ~25 ms on
 * loopback), before it carried a stream, while other connections to the
 * peer stay up, was refused (go-libp2p's resource manager accepts the
 * handshake and then closes connections over its per-peer limit): it is
 * counted as a refusal and not re-dialled. Timed from the end of the dial,
 * not from `timeline.open`, so a slow handshake does not use it up.
 */
export const REFUSAL_WINDOW = second

/**
 * A refusal lowers the peer's target to what it accepted, and holds it there
 * for a while: `dial()` dials nothing more for a peer at it, maintenance
 * does not re-dial it. When the hold ends, maintenance asks a kept peer for
 * `maxConnectionsPerPeer` again (one top-up), as does the next `dial()`.
 *
 * A refused dial (the connection failed other than by a timeout) is what
 * limits that pass within seconds look like: js-libp2p resets inbound
 * sockets beyond `inboundConnectionThreshold` (5 per second per host) and
 * `maxIncomingPendingConnections` (10 upgrading, at most 10 s), go-libp2p's
 * resource manager closes at accept beyond its rate limit (16 per /32,
 * refilled one every 5 s) as well as beyond its lasting limits (per IP, per
 * peer, system), and the dialer cannot tell them apart. So its hold starts
 * at `REFUSAL_HOLD_START` (above go's 5 s refill), doubles with each
 * refusal in a row and is capped at `REFUSAL_HOLD`; the streak ends when an
 * extra dial brings the peer more connections than it had when it last
 * refused. A peer that refuses every dial costs about
 * log2(REFUSAL_HOLD / REFUSAL_HOLD_START) + 1 (8) dials in its first 10
 * minutes and one per `REFUSAL_HOLD` after that.
 *
 * A connection the remote closes within `REFUSAL_WINDOW` of its dial, with
 * no stream, was accepted and then turned away (go-libp2p's resource
 * manager over its per-peer limit): a decision, not a rate, so it is held
 * the whole `REFUSAL_HOLD` at once.
 */
export const REFUSAL_HOLD_START = 6 * second
export const REFUSAL_HOLD = 10 * 60 * second

/**
 * How long a refusal streak is remembered after its hold ended, ms: a peer
 * that refuses again within it gets twice the last hold; one that does not
 * starts again at `REFUSAL_HOLD_START`
 */
export const REFUSAL_STREAK_MEMORY = REFUSAL_HOLD

/**
 * Refusal holds kept for peers the pool no longer manages (released, expired
 * or evicted), so dialling them again does not ask for what they refused;
 * past this many, the oldest refusal is forgotten
 */
export const MAX_REFUSAL_HOLDS = 1_024

/**
 * A TCP + noise + yamux dial takes about four round trips; when `@x/health`
 * has measured the peer's RTT, a dial attempt may take this many times its
 * average RTT (twice the four) plus `DIAL_TIMEOUT_MARGIN`, and never less
 * than `dialTimeout`. The average is the `rtt.ewma` of the latest
 * `connection:health` snapshot (an EWMA of the probes, not RFC 6298's
 * SRTT).
 */
export const DIAL_TIMEOUT_RTTS = 8
export const DIAL_TIMEOUT_MARGIN = second

/**
 * Opening a stream takes one round trip (protocol negotiation); with a
 * measured RTT an attempt on one connection may take the adaptive timeout
 * `@x/health` publishes, and at least this many average RTTs (`rtt.ewma`).
 */
export const STREAM_OPEN_TIMEOUT_RTTS = 3

/** Most multiaddrs one `dial`/`newStream` call accepts (libp2p dials at most 25 per peer) */
export const MAX_ADDRESSES_PER_CALL = 25

/**
 * Spellings of a managed peer's address (`/dns4/` and `/ip4/`, a second
 * listen address) that callers gave without a peer id and the pool
 * remembers for it, so alternating between them does not dial to learn the
 * peer each time; past this many, the oldest is forgotten
 */
export const MAX_ADDRESS_SPELLINGS = 8

/** Prefix of every metric name the pool registers */
export const DEFAULT_METRICS_PREFIX = 'x_connection_pool_'

/**
 * Most dials at once that learn the peer of addresses without a peer id
 * (each shared by every call for the same addresses); one more call gets
 * `PoolLimitReachedError` without dialling
 */
export const MAX_LEARNING_DIALS = 32

/**
 * Figures of a `connection:health` event (anyone may dispatch one) are
 * checked before use: not a number, NaN, infinite or negative makes the
 * event dropped and counted (`invalidHealthEvents`); RTTs above
 * `HEALTH_RTT_CEILING` and adaptive timeouts above `HEALTH_TIMEOUT_CEILING`
 * are clamped to them, so the longest timeouts the pool derives from them
 * are a 241 s dial attempt and a 90 s stream open, far below the 2^31 - 1 ms
 * at which a timer fires at once.
 */
export const HEALTH_RTT_CEILING = 30 * second
export const HEALTH_TIMEOUT_CEILING = 60 * second

/**
 * An adaptive timeout below this (0 included) is raised to it, ms: the
 * pool's stream attempts take at least the adaptive timeout, and one of 0
 * would make every attempt time out at once. `@x/health`'s own default
 * floor (`minTimeout`).
 */
export const HEALTH_TIMEOUT_FLOOR = second

/**
 * The re-dial backoff of a kept peer (`retry`) grows with each re-dial and
 * resets only when a connection the pool opened closes after staying up
 * this long, ms: a peer whose connections are closed a few seconds after
 * each dial is re-dialled at most once per `retry.maxDelay`, not every few
 * seconds forever.
 */
export const REDIAL_STABLE_AFTER = 60 * second
