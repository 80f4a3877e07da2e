/**
 * What the soak checks, as plain functions of what it recorded: every lost
 * request is explained by a disruption of its target (or it is not), and
 * the resources are flat after the warm-up.
 */

/** A window in which requests to `target` may be lost: the target was stopped, killed or cut off */
export interface DisruptionWindow {
  kind: string
  /** Peer id the disruption hit, or '*' for every peer */
  target: string
  /** Where the requests come from, when only one node's requests are hit (the proxied link) */
  from?: number
  start: number
  end: number
  detail: string
  /** How long after `end` a request may still fail because of it, ms (default `EXPLAIN_GRACE`) */
  grace?: number
}

export interface LostRequest {
  /** `echo` (the demo workload, after its retries), or a batched `message` or `request` */
  kind?: string
  node: number
  peer: string
  startedAt: number
  at: number
  error: string
}

/** How long after a disruption ends a request may still fail because of it (reconnecting, backoff), ms */
export const EXPLAIN_GRACE = 10_000
/** Largest growth after the warm-up that still counts as flat */
export const MAX_GROWTH = 0.10
/** Largest event-loop delay p99 that passes, ms */
export const MAX_LAG_P99 = 1_000

/** The disruption that explains a lost request: its target was hit while the request was in flight */
export function explain (lost: LostRequest, windows: DisruptionWindow[], grace = EXPLAIN_GRACE): DisruptionWindow | undefined {
  return windows.find(w =>
    (w.target === '*' || w.target === lost.peer) &&
    (w.from == null || w.from === lost.node) &&
    lost.startedAt <= w.end + (w.grace ?? grace) &&
    lost.at >= w.start
  )
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

/** The smallest value: the floor between bursts */
export function lowest (values: number[]): number {
  return values.length === 0 ? NaN : Math.min(...values)
}
