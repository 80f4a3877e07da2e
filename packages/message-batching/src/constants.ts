/**
 * Defaults of every option, resolved once in options.ts. The wire bounds
 * are the ones PROTOCOL.md lists.
 */

export const PROTOCOL = '/x/batch/1.0.0'
/** The same protocol with flow control: the acceptor acknowledges frames (PROTOCOL.md, Flow control) */
export const FLOW_PROTOCOL = '/x/batch/1.1.0'

export const DEFAULT_METRICS_PREFIX = 'x_batching_'

export const DEFAULT_MAX_BATCH_SIZE = 100
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024
export const DEFAULT_BATCH_TIMEOUT = 10
export const DEFAULT_COMPRESSION_THRESHOLD = 1024
export const DEFAULT_COMPRESSION_LEVEL = 6
/** A deflate that saves less than this share counts as incompressible */
export const COMPRESSION_MIN_SAVING = 0.1
/** After incompressible frames, deflate is not tried for 1, 2, 4 ... up to this many frames */
export const COMPRESSION_MAX_SKIP = 64
export const DEFAULT_REQUEST_TIMEOUT = 10_000
/**
 * The least a request waits when its timeout comes from `@x/health`: that is
 * a ping's timeout (a round trip), and a request also waits in the queues,
 * for its batch and for the remote handler
 */
export const DEFAULT_MIN_REQUEST_TIMEOUT = 2_000
export const DEFAULT_OPEN_TIMEOUT = 10_000

/** Queued bytes per peer and priority before `send` waits */
export const DEFAULT_MAX_QUEUE_BYTES = 1024 * 1024
/** Queued messages per peer and priority before `send` waits */
export const DEFAULT_MAX_QUEUE_LENGTH = 10_000
/** Callers waiting for room in one peer's queue of one priority before `send` rejects */
export const DEFAULT_MAX_WAITING = 10_000

/** Wire bounds (PROTOCOL.md) */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
export const DEFAULT_MAX_RECORDS_PER_FRAME = 4096
export const DEFAULT_MAX_NAMES = 1024
export const DEFAULT_MAX_INFLIGHT_REQUESTS = 1024
export const DEFAULT_MAX_INBOUND_STREAMS = 4
export const DEFAULT_MAX_OUTBOUND_STREAMS = 4
/** Peers with an open channel (queue + stream) at once */
export const DEFAULT_MAX_PEERS = 1024

export const MAX_NAME_BYTES = 128
export const MAX_ERROR_TEXT_BYTES = 1024
export const MAX_VARINT_BYTES = 5
/** Compressed input fed to the inflater per step, so one step inflates at most ~1 MiB */
export const INFLATE_STEP_BYTES = 1024

/** Frames written in one event-loop turn at most (about 1,600 messages or 1 MiB at the defaults) */
export const MAX_FRAMES_PER_TURN = 16

/** Most bytes written to a flow-controlled stream and not yet acknowledged (the window adapts below it) */
export const DEFAULT_MAX_UNACKED_BYTES = 1024 * 1024
/** The window starts here ... */
export const FLOW_INITIAL_WINDOW = 64 * 1024
/** ... and never shrinks below this (about 150 messages of 100 B) */
export const FLOW_MIN_WINDOW = 16 * 1024
/** Bytes above a full window that frames of `high` messages alone may use: they do not wait for an ack */
export const FLOW_HIGH_HEADROOM = 16 * 1024
/** A flow-controlled stream with bytes unacknowledged and no ACK for this long is reset and opened again, ms */
export const DEFAULT_ACK_TIMEOUT = 30_000
/** Most frames unacknowledged at once, whatever their size */
export const FLOW_MAX_UNACKED_FRAMES = 1024
/** The window shrinks to this share of itself when a queue builds */
export const FLOW_DECREASE = 0.8
/** Queuing delay always allowed on top of the smallest round trip (else half of it), ms */
export const FLOW_MIN_QUEUE_DELAY = 1
/** The window never shrinks below this times the path's bandwidth-delay product (highest recent delivery rate x smallest round trip) */
export const FLOW_BDP_GAIN = 1.25
/** The highest delivery rate is forgotten after this many smallest round trips */
export const FLOW_RATE_ROUNDS = 10
/** After this many round trips in a row with the window full (the sender had more), the window probes: it grows by FLOW_PROBE_GAIN for a round */
export const FLOW_PROBE_ROUNDS = 8
/** A probe raises the window by this factor */
export const FLOW_PROBE_GAIN = 1.25
/**
 * A probe is kept (and the next one follows at once) when the delivery rate
 * grew by at least this share of the window's growth (+7.5 % for +25 %):
 * the window, not the path, was the bottleneck
 */
export const FLOW_PROBE_ELASTICITY = 0.3
/**
 * For this many smallest round trips after a frame with a `high` message,
 * frames without one may fill only FLOW_HIGH_HOLD_GAIN measured
 * bandwidth-delay products (the window's excess is a queue a `high`
 * message waits behind)
 */
export const FLOW_HIGH_HOLD_RTTS = 4
/**
 * The hold's bandwidth-delay products: above one, so the path stays full
 * when acks come late (a busy event loop). At exactly one, every late ack
 * lowered a delivery-rate sample, the highest one expired to a lower one,
 * and the hold ratcheted the flood down (to 0.23 of the path with acks
 * 0-25 ms late on a 50 ms round trip, injected clock)
 */
export const FLOW_HIGH_HOLD_GAIN = 1.25
/** The smallest round trip is forgotten after this long, ms */
export const FLOW_MIN_RTT_WINDOW = 10_000

/**
 * A stream whose writes wait for 'drain' this long (the remote reads
 * nothing) is reset and opened again, ms; on `/x/batch/1.0.0` nothing else
 * bounds that wait
 */
export const DEFAULT_WRITE_TIMEOUT = 30_000

/** Inbound streams over all peers at once (each may buffer up to `limits.maxFrameBytes` of a partial frame) */
export const DEFAULT_MAX_INBOUND_SESSIONS = 128
/** Bytes of answers queued and not yet handed to their streams, over all inbound streams */
export const DEFAULT_MAX_PENDING_ANSWER_BYTES = 16 * 1024 * 1024
/** Message handlers of one inbound stream with a promise unsettled before the stream is paused */
export const DEFAULT_MAX_RUNNING_HANDLERS = 256
/** How long a handler may take to answer a request before it is answered with HANDLER_ERROR, ms */
export const DEFAULT_HANDLER_TIMEOUT = 30_000
/** The first reopen after a stream died young or failed to open waits about this long (jittered down to half), ms */
export const DEFAULT_REOPEN_INITIAL_DELAY = 100
/** ... doubling per failure in a row, up to this, ms */
export const DEFAULT_REOPEN_MAX_DELAY = 10_000
/** A stream that lived this long, or gave valid input, resets the back-off, ms */
export const STABLE_STREAM_AFTER = 10_000

/** Metric rates are averaged over this window, ms */
export const RATE_WINDOW = 10_000

export const PRIORITIES = ['high', 'normal', 'low'] as const
