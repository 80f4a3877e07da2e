/**
 * What the soak checks, as plain functions of what it recorded: every lost
 * request is explained by what happened to the connection it ran on (see
 * ledger.ts) or it is not, nothing stalls, and the resources are flat after
 * the warm-up.
 */
import type { Ledger } from './ledger.ts'
import type { Loss } from './workload.ts'

/** A lost request with its verdict: why each attempt failed, or null when one attempt's failure is not explained */
export interface JudgedLoss extends Loss {
  explainedBy: string | null
  /** The first attempt nothing explains (index), when there is one */
  unexplainedAttempt?: number
}

/** How long a send, request or echo may stay in flight before it counts as stalled, ms */
export const STALL_AFTER = 60_000
/** Largest growth after the warm-up that still counts as flat */
export const MAX_GROWTH = 0.10
/** Largest event-loop delay p99 that passes, ms */
export const MAX_LAG_P99 = 1_000

/** A loss is explained when every one of its attempts is: each by the death of, or a fault on, its own connection */
export function judge (loss: Loss, ledger: Pick<Ledger, 'explainAttempt'>): JudgedLoss {
  const reasons: string[] = []

  for (const [i, attempt] of loss.attempts.entries()) {
    const reason = ledger.explainAttempt(loss.node, loss.peer, attempt)

    if (reason == null) {
      return { ...loss, explainedBy: null, unexplainedAttempt: i }
    }

    reasons.push(reason)
  }

  return { ...loss, explainedBy: reasons.length === 0 ? null : [...new Set(reasons)].join(' | ') }
}

/** What the whole run found, as `soak.json` writes it (`checks`, and whether it was interrupted) */
export interface RunChecks {
  interrupted: string | null
  unexplainedLostRequests: number
  stalledAtEnd: number
  goProcessesLeftAtEnd: number
  minutesFailed: number[]
  growthChecked: boolean
  /** Array buffers and heap after the load stopped (lib/memory.ts, rule 3): null when not run */
  drain: { passed: boolean } | null
  /** Disruptions that could not be carried out (a killed go peer not started again leaves its fault open: every later loss to it looks explained) */
  disruptionsFailed: string[]
  /** Whether samples were taken after a full gc (`--expose-gc`): without it heap and array buffers carry their garbage, the baseline's too */
  gcExposed: boolean
}

/** The soak passes when it ran to the end with its samples taken after a gc, every disruption ran, every minute passed, memory drained and nothing was lost, stalled or left behind */
export function soakPassed (c: RunChecks): boolean {
  return c.interrupted == null && c.unexplainedLostRequests === 0 && c.stalledAtEnd === 0 && c.goProcessesLeftAtEnd === 0 &&
    c.minutesFailed.length === 0 && c.growthChecked && c.drain?.passed === true && c.disruptionsFailed.length === 0 && c.gcExposed
}

export function median (values: number[]): number {
  if (values.length === 0) {
    return NaN
  }

  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Growth of a resource from its baseline (the first minute after the
 * warm-up) to a later minute, as a fraction, by the median of each (or
 * another `statistic`). `floor` keeps a
 * tiny baseline (a few handles) from turning one extra into +50 %: growth
 * is measured against at least `floor`.
 */
export function growth (baseline: number[], later: number[], floor = 0, statistic: (values: number[]) => number = median): number {
  const base = Math.max(statistic(baseline), floor)
  return base === 0 ? 0 : (statistic(later) - statistic(baseline)) / base
}
