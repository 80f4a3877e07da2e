/**
 * Defaults of `BandwidthManagerInit` and the bounds of every queue, map and
 * window, in one place.
 */

const second = 1000
const KiB = 1024
const MiB = 1024 * KiB

/** The class every stream falls into when no class names its protocol */
export const DEFAULT_CLASS_NAME = 'default'
export const DEFAULT_PRIORITY = 0
export const DEFAULT_WEIGHT = 1

/**
 * A grant lets one stream send this long at the tightest rate that applies
 * to it (bounded by `MIN_GRANT`..`MAX_GRANT`): a higher-priority write
 * never waits behind more than about this much of lower-priority data
 */
export const GRANT_TIME = 4
export const MIN_GRANT = KiB
export const MAX_GRANT = 64 * KiB

/**
 * A token bucket holds at most this long of its rate (and at least one
 * grant), so an idle node sends no burst longer than this into the network
 */
export const DEFAULT_BURST_TIME = 10

/**
 * A token bucket in use keeps up to this long of its rate when its timer
 * fires late (a busy event loop), so the rate is not lost; catching up
 * sends faster than the rate for a moment
 */
export const DEFAULT_CATCH_UP_TIME = 50

/**
 * Bytes a shaped stream may hold in its write buffer when the writer
 * ignores `send()` returning false (libp2p's `maxWriteBufferLength`; past it
 * the stream is reset with a `StreamBufferError`). A value the stream
 * already has is kept.
 */
export const DEFAULT_MAX_WRITE_BUFFER = 8 * MiB

/**
 * A paused stream buffers at most what the remote may still send, its
 * muxer's receive window: yamux grows a stream's window up to 16 MiB, more
 * than libp2p's default 4 MiB read buffer, so a shaped stream's
 * `maxReadBufferLength` is raised to this (a larger value is kept)
 */
export const MIN_READ_BUFFER = 16 * MiB + 64 * KiB

/** Per-second slots of the rate windows: 1 s and 1 min rates */
export const RATE_SLOTS = 60

/** Protocols tracked one by one in the metrics; more are counted as `other` */
export const DEFAULT_MAX_TRACKED_PROTOCOLS = 128

/** Peers tracked one by one in the metrics; more are counted as `other` */
export const DEFAULT_MAX_TRACKED_PEERS = 1024

/** A peer with no open stream for this long leaves the metrics */
export const PEER_IDLE_EXPIRY = 60 * second

/** EWMA factor of the queuing delay per class */
export const QUEUE_DELAY_EWMA = 0.1

export const DEFAULT_METRICS_PREFIX = 'x_bandwidth_'

/** Congestion control */
export const DEFAULT_TARGET_DELAY = 25
/** How often a busy background connection's RTT is sampled (own timing) */
export const DEFAULT_SAMPLE_INTERVAL = 100
/** LEDBAT: base delay is the minimum of one-minute minimums over 10 minutes */
export const BASE_HISTORY = 10
export const BASE_HISTORY_INTERVAL = 60 * second
/**
 * LEDBAT: the current delay is the minimum of the last 2 samples (one late
 * sample is not congestion; RFC 6817 suggests 4 per RTT-spaced samples, which
 * at a 100 ms interval reacted 300 ms late to a 400 ms queue)
 */
export const CURRENT_FILTER = 2
/**
 * Rate change per sample at a full target off: +10 % in slow start (until
 * the queuing delay first reaches half the target), then +1 % and -5 %
 * (so a 400 ms queue over a 25 ms target halves the rate at once), halving
 * at most. Chosen on a fluid model of a 1 MB/s bottleneck sampled every
 * 100 ms with a sample of delay: the earlier +-10 % oscillated (99th
 * percentile queue 157 ms, 60 % use); these settle near the target (53 ms,
 * 90 %)
 */
export const SLOW_START_GAIN = 0.1
export const CONGESTION_INCREASE_GAIN = 0.01
export const CONGESTION_DECREASE_GAIN = 0.05
export const CONGESTION_MAX_DECREASE = 0.5
/** The lowest rate congestion control sets, bytes/s (a class's `minRate` if higher) */
export const MIN_CONGESTION_RATE = 16 * KiB
/** The rate a controller starts at when nothing above it limits the class, bytes/s */
export const INITIAL_CONGESTION_RATE = 256 * KiB
/** A controller is dropped after its connection was idle this long */
export const CONGESTION_IDLE_EXPIRY = 60 * second
