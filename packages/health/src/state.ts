/**
 * The state of a connection: scores a record after each check, moves it
 * healthy -> degraded -> unhealthy (and back), reports material changes as
 * `connection:health` events, and hands unhealthy connections to repair.
 */
import { CONNECTION_HEALTH_EVENT } from '@x/interface'
import { REPORT_RTT_MS, REPORT_RTT_RATIO, REPORT_STEP } from './constants.ts'
import { score, stabilityComponent } from './score.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { ConnectionRecord } from './record.ts'
import type { Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionHealthSnapshot } from '@x/interface'

/** What the state needs of the service */
export interface StateContext {
  readonly options: ResolvedHealthOptions
  readonly log: Logger
  readonly events: TypedEventTarget<Libp2pEvents>
  tracks(record: ConnectionRecord): boolean
  getTimeout(peer: PeerId): number
  /** A replacement's first probes are in: did it pay off? */
  judge(record: ConnectionRecord, now: number): void
  repair(record: ConnectionRecord): void
}

/** Scores a record after a check, moves its state, reports and repairs */
export function evaluate (ctx: StateContext, record: ConnectionRecord, now: number): void {
  if (!ctx.tracks(record) || record.connection.status !== 'open') {
    return
  }

  const { options } = ctx
  const parts = score({
    // the median of the last three probes, less our own stall during each: a
    // lasting slowdown counts after two probes, a single spike never, and a
    // starved host does not take its own slowness for the connection's
    rtt: record.awakeRtt(),
    successRate: record.successRate,
    recentFailures: record.recentFailures(now),
    consecutiveFailures: record.consecutiveFailures
  }, options, options.weights)
  record.score = parts.score

  if (parts.score < options.minHealthThreshold) {
    record.unhealthyChecks++

    if (record.state === 'healthy') {
      record.state = 'degraded'
      record.streamsOkSinceDegraded = 0
      record.event('degraded', now)
    }

    if (record.unhealthyChecks >= options.unhealthyChecksBeforeReplace) {
      record.state = 'unhealthy'
    }
  } else {
    if (record.state !== 'healthy') {
      record.event('recovered', now)
    }

    record.unhealthyChecks = 0
    record.state = 'healthy'
  }

  ctx.judge(record, now)
  report(ctx, record, now)

  if (record.state === 'unhealthy' && options.replaceUnhealthy) {
    ctx.repair(record)
  }
}

/** Dispatches `connection:health` when the state changed, the score moved by `REPORT_STEP` or the RTT by `REPORT_RTT_RATIO` */
export function report (ctx: StateContext, record: ConnectionRecord, now: number): void {
  const rtt = record.rtt.samples > 0 ? record.rtt.ewma : -1
  const rttMoved = rtt >= 0 && (record.lastReportedRtt < 0 || Math.abs(rtt - record.lastReportedRtt) >= Math.max(REPORT_RTT_MS, record.lastReportedRtt * REPORT_RTT_RATIO))
  const changed = record.state !== record.lastReportedState || Math.abs(record.score - record.lastReportedScore) >= REPORT_STEP || rttMoved

  if (!changed) {
    return
  }

  record.lastReportedScore = record.score
  record.lastReportedState = record.state
  record.lastReportedRtt = rtt
  ctx.events.safeDispatchEvent(CONNECTION_HEALTH_EVENT, { detail: snapshot(ctx, record, now) })
}

export function snapshot (ctx: Pick<StateContext, 'options' | 'getTimeout'>, record: ConnectionRecord, now: number): ConnectionHealthSnapshot {
  return {
    peer: record.peer,
    connectionId: record.connection.id,
    score: record.score,
    state: record.state,
    rtt: record.rtt.summary(),
    successRate: record.successRate,
    stability: stabilityComponent(record.recentFailures(now), ctx.options.maxFailedStreams),
    limited: record.connection.limits != null,
    adaptiveTimeout: ctx.getTimeout(record.peer),
    timestamp: now
  }
}
