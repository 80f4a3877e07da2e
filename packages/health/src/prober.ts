/**
 * Chooses the probe for a connection (`probe` option, see `ProbeMode`) and
 * turns what happened into one `ProbeOutcome`. Only `ok` and `failed` are
 * checks of the connection; `skipped` (another ping stream in flight),
 * `blocked` (the local muxer's stream cap, with no muxer ping to stand in)
 * and `stalled` (unanswered while this process was stalled, see
 * `probeTimer`; excused `MAX_EXCUSED_STALLS` times in a row, then a
 * failure) measured nothing.
 */
import { MAX_EXCUSED_STALLS, STREAM_CHECK_EVERY } from './constants.ts'
import { muxerPingOf, pingMuxer } from './muxer-probe.ts'
import { pingStream } from './stream-probe.ts'
import type { ProbeKind } from './index.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { ConnectionRecord } from './record.ts'

export type ProbeOutcome =
  /** `stalled`: ms this process was stalled while the probe ran (part of `rtt` that may be ours) */
  | { result: 'ok', rtt: number, probe: ProbeKind, stalled?: number }
  | { result: 'failed', error: string }
  | { result: 'skipped' }
  | { result: 'stalled' }
  | { result: 'blocked', error: string }

export type ProbePlan = 'muxer' | 'stream'

/**
 * Which probe the connection gets now. With `auto`, a connection probed on
 * its muxer that carried no successful stream in `STREAM_CHECK_EVERY` x
 * its peer's open connections (at the last sweep) checks gets a ping stream: the muxer's answer proves
 * the remote's muxer and event loop alive on this connection, a stream
 * proves it still serves streams (a successful stream of anyone's does as
 * well). Scaled by the peer's open connections, a peer gets about one ping
 * stream per `STREAM_CHECK_EVERY` checks however many connections it has:
 * a stream probe costs about ten muxer probes of CPU, and a remote that
 * stops serving streams usually does so on all its connections. After a
 * failed ping stream, every check is a ping stream until one succeeds (or a
 * stream of the application does), so its failures come in a row.
 */
export function plan (record: ConnectionRecord, options: ResolvedHealthOptions): ProbePlan {
  if (options.probe === 'stream' || muxerPingOf(record.connection) == null) {
    return 'stream'
  }

  if (options.probe === 'muxer') {
    return 'muxer'
  }

  if (record.streamsOpened !== record.streamsAtStreamCheck) {
    record.streamsAtStreamCheck = record.streamsOpened
    record.muxerChecks = 0
    record.streamCheckFailed = false
  }

  // a failed ping stream is checked again at once: otherwise the muxer
  // probes that follow reset its failure, and a connection that serves no
  // stream would never be replaced
  if (record.streamCheckFailed) {
    return 'stream'
  }

  if (record.muxerChecks >= STREAM_CHECK_EVERY * record.peerConnections) {
    record.muxerChecks = 0
    return 'stream'
  }

  record.muxerChecks++
  return 'muxer'
}

/** Runs the planned probe, and measures our own stall while it ran; never rejects */
export async function runProbe (record: ConnectionRecord, kind: ProbePlan, options: ResolvedHealthOptions, controller: AbortController): Promise<ProbeOutcome> {
  const lag = options.loopLag
  const release = lag.hold()
  const stalled0 = lag.stalled()

  try {
    const outcome = await probeOnce(record, kind, options, controller)

    if (outcome.result === 'ok') {
      outcome.stalled = lag.stalled() - stalled0
    }

    if (kind === 'stream' && (outcome.result === 'ok' || outcome.result === 'failed')) {
      record.streamCheckFailed = outcome.result === 'failed'
    }

    return outcome
  } finally {
    release()
  }
}

async function probeOnce (record: ConnectionRecord, kind: ProbePlan, options: ResolvedHealthOptions, controller: AbortController): Promise<ProbeOutcome> {
  const muxer = muxerPingOf(record.connection)

  try {
    if (kind === 'muxer' && muxer != null) {
      return { result: 'ok', rtt: await pingMuxer(muxer, options.pingTimeout, controller.signal, options.loopLag), probe: 'muxer' }
    }

    // a muxer probe's controller is shared by all of them: a stream probe's timeout aborts its own
    const own = kind === 'stream' ? controller : new AbortController()
    return { result: 'ok', rtt: await pingStream(record.connection, options.pingProtocol, options.pingTimeout, own, options.loopLag), probe: 'stream' }
  } catch (err: any) {
    const name: string = typeof err?.name === 'string' ? err.name : 'Error'

    if (name === 'LoopStalledError') {
      if (record.stallsInARow < MAX_EXCUSED_STALLS) {
        record.stallsInARow++
        return { result: 'stalled' }
      }

      return { result: 'failed', error: 'TimeoutError' }
    }

    if (name === 'PingUnsupportedError') {
      // alive: the negotiation round trip is the measurement
      record.pingUnsupported = true
      return { result: 'ok', rtt: err.negotiationMs, probe: 'negotiation' }
    }

    if (name === 'TooManyOutboundProtocolStreamsError') {
      if (record.connection.streams.some(s => s.direction === 'outbound' && s.protocol === options.pingProtocol)) {
        // another ping stream (libp2p's connection monitor, a user's ping)
        // is in flight on this connection and measures it
        return { result: 'skipped' }
      }

      // the local muxer refused any new stream: its own stream cap
      if (muxer != null && options.probe !== 'stream' && !controller.signal.aborted) {
        return probeOnce(record, 'muxer', options, controller)
      }

      return { result: 'blocked', error: name }
    }

    return { result: 'failed', error: name }
  }
}
