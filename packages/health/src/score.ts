/**
 * The 0..1 score of a connection: a weighted mean of three components, each
 * 1 when perfect and exactly 0.5 at its configured threshold:
 *
 * - latency (median of the last three probes): 1 at 0 ms, 0.5 at
 * `maxPingLatency`, 0 at twice that
 * - success rate: 1 at 100 %, 0.5 at `minPingSuccessRate`, 0 at 0 %, and 0
 * while the last two probes in a row went unanswered (the decayed rate
 * moves slowly, so random loss does not trip it; silence does at once)
 * - stability: 1 with no recent failure, 0.5 at `maxFailedStreams` failed
 * streams in the stability window, 0 at twice that
 *
 * A connection past any threshold (a component below 0.5) scores no more
 * than that component, so a breached threshold is never averaged away by
 * the others.
 */
import { SILENT_PROBES } from './constants.ts'
import type { HealthWeights } from './index.ts'

export interface ScoreInputs {
  /** Recent RTT (median of the last three probes), undefined before the first */
  rtt?: number
  successRate: number
  recentFailures: number
  /** Probes in a row that failed */
  consecutiveFailures?: number
}

export interface ScoreThresholds {
  maxPingLatency: number
  minPingSuccessRate: number
  maxFailedStreams: number
}

export interface ScoreParts {
  latency: number
  successRate: number
  stability: number
  score: number
}

const clamp = (n: number): number => Math.min(1, Math.max(0, n))

export function latencyComponent (rtt: number | undefined, maxPingLatency: number): number {
  if (rtt == null) {
    return 1
  }

  return clamp(1 - rtt / (2 * maxPingLatency))
}

export function successComponent (rate: number, minRate: number): number {
  if (rate >= minRate) {
    return minRate >= 1 ? 1 : clamp(1 - 0.5 * (1 - rate) / (1 - minRate))
  }

  return clamp(0.5 * rate / minRate)
}

export function stabilityComponent (recentFailures: number, maxFailedStreams: number): number {
  return clamp(1 - recentFailures / (2 * maxFailedStreams))
}

export function score (inputs: ScoreInputs, thresholds: ScoreThresholds, weights: Required<HealthWeights>): ScoreParts {
  const latency = latencyComponent(inputs.rtt, thresholds.maxPingLatency)
  const successRate = (inputs.consecutiveFailures ?? 0) >= SILENT_PROBES ? 0 : successComponent(inputs.successRate, thresholds.minPingSuccessRate)
  const stability = stabilityComponent(inputs.recentFailures, thresholds.maxFailedStreams)
  const mean = weights.latency * latency + weights.successRate * successRate + weights.stability * stability
  const breached = [latency, successRate, stability].filter(c => c < 0.5)
  const total = breached.length > 0 ? Math.min(mean, ...breached) : mean

  return { latency, successRate, stability, score: clamp(total) }
}
