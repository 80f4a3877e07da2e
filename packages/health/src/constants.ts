/**
 * Defaults of `ConnectionHealthInit` and the bounds of every buffer, in one
 * place.
 */

const second = 1000

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
export const PING_LENGTH = 32

export const DEFAULT_CHECK_INTERVAL = 10 * second
export const DEFAULT_CHECK_JITTER = 0.2
export const DEFAULT_PING_TIMEOUT = 5 * second
export const DEFAULT_MAX_CONCURRENT_PROBES = 16
/**
 * A peer is probed on one connection at a time; a probe unanswered this
 * long (or half the ping timeout, if shorter) lets the next connection of
 * that peer be probed too
 */
export const PEER_PROBE_LEASE = second
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
/** Errors within this window make up the stability score */
export const STABILITY_WINDOW = 5 * 60 * second
/** Score must move by this much for a new `connection:health` event ... */
export const REPORT_STEP = 0.05
/** ... or the RTT EWMA by this fraction of itself ... */
export const REPORT_RTT_RATIO = 0.2
/** ... and at least this many ms, so latency-based routing never works on a stale RTT */
export const REPORT_RTT_MS = 10
/** Worst connections listed in the summary */
export const SUMMARY_WORST = 5

/** Longest hold on replacement dials to a peer whose replacement dials keep failing */
export const MAX_REPLACE_BACKOFF = 5 * 60 * second
/** Re-dials of a peer whose last connection was closed for being dead */
export const REDIAL_ATTEMPTS = 10
