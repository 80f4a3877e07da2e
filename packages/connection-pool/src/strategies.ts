/**
 * Stream placement strategies. Each picks one of a peer's usable
 * connections for the next stream.
 *
 * Health- and latency-based placement must not herd: connections whose
 * score (or RTT) is within a tolerance of the best are treated as equal and
 * the stream goes to the least loaded of them (ties broken round-robin). A
 * connection with no measurement yet is assumed to be as good as the median
 * of its measured siblings, so it neither wins nor loses every stream.
 */
import { DEFAULT_LATENCY_TOLERANCE_MS, DEFAULT_LATENCY_TOLERANCE_RATIO, DEFAULT_SCORE_TOLERANCE } from './constants.ts'
import { UnknownStrategyError } from './errors.ts'
import type { ConnectionCandidate, ConnectionSelector, SelectionContext, StrategyName } from './index.ts'

export const STRATEGY_NAMES: readonly StrategyName[] = ['round-robin', 'least-loaded', 'health-based', 'latency-based']

export const roundRobin: ConnectionSelector = (candidates, context) => {
  return candidates[context.counter % candidates.length]
}

export const leastLoaded: ConnectionSelector = (candidates, context) => {
  const fewest = Math.min(...candidates.map(c => c.openStreams))
  const tied = candidates.filter(c => c.openStreams === fewest)

  return tied[context.counter % tied.length]
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)

  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Drops connections the health service calls unhealthy, unless all are */
function withoutUnhealthy (candidates: ConnectionCandidate[]): ConnectionCandidate[] {
  const healthy = candidates.filter(c => c.health?.state !== 'unhealthy')

  return healthy.length > 0 ? healthy : candidates
}

export function healthBased (tolerance = DEFAULT_SCORE_TOLERANCE): ConnectionSelector {
  return (all, context) => {
    const candidates = withoutUnhealthy(all)
    const measured = candidates.filter(c => c.health != null).map(c => c.health?.score ?? 0)

    if (measured.length === 0) {
      return leastLoaded(candidates, context)
    }

    const assumed = median(measured)
    const scoreOf = (c: ConnectionCandidate): number => c.health?.score ?? assumed
    const best = Math.max(...candidates.map(scoreOf))

    return leastLoaded(candidates.filter(c => scoreOf(c) >= best - tolerance), context)
  }
}

/** The RTT a candidate is known by: the health EWMA, else libp2p's `conn.rtt` */
export function rttOf (candidate: ConnectionCandidate): number | undefined {
  return candidate.health?.rtt?.ewma ?? candidate.connection.rtt
}

export function latencyBased (toleranceMs = DEFAULT_LATENCY_TOLERANCE_MS, toleranceRatio = DEFAULT_LATENCY_TOLERANCE_RATIO): ConnectionSelector {
  return (all, context) => {
    const candidates = withoutUnhealthy(all)
    const measured = candidates.map(rttOf).filter((rtt): rtt is number => rtt != null)

    if (measured.length === 0) {
      return leastLoaded(candidates, context)
    }

    const assumed = median(measured)
    const latency = (c: ConnectionCandidate): number => rttOf(c) ?? assumed
    const best = Math.min(...candidates.map(latency))
    const limit = best + Math.max(toleranceMs, best * toleranceRatio)

    return leastLoaded(candidates.filter(c => latency(c) <= limit), context)
  }
}

export interface StrategyTolerances {
  scoreTolerance?: number
  latencyToleranceMs?: number
  latencyToleranceRatio?: number
}

/** Resolves `init.strategy` to a selector, or throws UnknownStrategyError */
export function resolveStrategy (strategy: StrategyName | ConnectionSelector | undefined, tolerances: StrategyTolerances = {}): ConnectionSelector {
  if (typeof strategy === 'function') {
    return strategy
  }

  switch (strategy ?? 'round-robin') {
    case 'round-robin': return roundRobin
    case 'least-loaded': return leastLoaded
    case 'health-based': return healthBased(tolerances.scoreTolerance)
    case 'latency-based': return latencyBased(tolerances.latencyToleranceMs, tolerances.latencyToleranceRatio)
    default:
      throw new UnknownStrategyError(`Unknown strategy "${String(strategy)}": use one of ${STRATEGY_NAMES.join(', ')} or a function`)
  }
}

export type { SelectionContext }
