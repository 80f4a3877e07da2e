/**
 * Checks a `connection:health` event before the pool uses it: anyone can
 * dispatch one on the event bus, so its figures are not trusted. An event
 * without a `PeerId`, a connection id, a known state, or with a figure that
 * is not a number, NaN, infinite or negative is dropped (the caller counts
 * it); RTTs and the adaptive timeout above their ceilings
 * (`HEALTH_RTT_CEILING`, `HEALTH_TIMEOUT_CEILING`), an adaptive timeout
 * below `HEALTH_TIMEOUT_FLOOR` and fractions above 1 are clamped. The result is a copy: later changes to the event's object do
 * not reach the pool.
 */
import { isPeerId } from '@libp2p/interface'
import { HEALTH_RTT_CEILING, HEALTH_TIMEOUT_CEILING, HEALTH_TIMEOUT_FLOOR } from './constants.ts'
import type { ConnectionHealthSnapshot, ConnectionHealthState, RttSummary } from '@x/interface'

const STATES = new Set<ConnectionHealthState>(['healthy', 'degraded', 'unhealthy', 'closed'])

/** A finite number >= 0, clamped to `floor`..`ceiling`; undefined otherwise */
function figure (value: unknown, ceiling: number, floor = 0): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return undefined
  }

  return Math.max(floor, Math.min(value, ceiling))
}

function rttSummary (value: unknown): RttSummary | undefined {
  if (typeof value !== 'object' || value == null) {
    return undefined
  }

  const rtt = value as Record<string, unknown>
  const summary = {
    last: figure(rtt.last, HEALTH_RTT_CEILING),
    ewma: figure(rtt.ewma, HEALTH_RTT_CEILING),
    min: figure(rtt.min, HEALTH_RTT_CEILING),
    p50: figure(rtt.p50, HEALTH_RTT_CEILING),
    p95: figure(rtt.p95, HEALTH_RTT_CEILING),
    samples: figure(rtt.samples, Number.MAX_SAFE_INTEGER)
  }

  return Object.values(summary).every(v => v != null) ? summary as RttSummary : undefined
}

/** The snapshot the pool may use, or undefined when the event must be dropped */
export function checkHealthSnapshot (detail: unknown): ConnectionHealthSnapshot | undefined {
  if (typeof detail !== 'object' || detail == null) {
    return undefined
  }

  const s = detail as Record<string, any>

  if (!isPeerId(s.peer) || typeof s.connectionId !== 'string' || s.connectionId === '' || !STATES.has(s.state)) {
    return undefined
  }

  const score = figure(s.score, 1)
  const successRate = figure(s.successRate, 1)
  const stability = figure(s.stability, 1)
  const adaptiveTimeout = figure(s.adaptiveTimeout, HEALTH_TIMEOUT_CEILING, HEALTH_TIMEOUT_FLOOR)
  const rtt = s.rtt == null ? undefined : rttSummary(s.rtt)

  if (score == null || successRate == null || stability == null || adaptiveTimeout == null || (s.rtt != null && rtt == null)) {
    return undefined
  }

  return {
    peer: s.peer,
    connectionId: s.connectionId,
    score,
    state: s.state,
    rtt,
    successRate,
    stability,
    limited: s.limited === true,
    adaptiveTimeout,
    timestamp: typeof s.timestamp === 'number' && Number.isFinite(s.timestamp) ? s.timestamp : Date.now()
  }
}
