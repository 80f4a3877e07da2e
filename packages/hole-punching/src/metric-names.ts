/**
 * The service's metric names, in one place (suite convention: one prefix per
 * package, counters end in `_total`).
 */
export interface MetricNames {
  /** Hole punch attempts (one CONNECT/SYNC exchange and punch), by role */
  attempts: string
  /** Attempts that ended in a direct connection */
  successes: string
  /** Attempts that failed, by error name */
  failures: string
  /** Hole punches running now */
  active: string
}

export function metricNames (prefix: string): MetricNames {
  return {
    attempts: `${prefix}attempts_total`,
    successes: `${prefix}successes_total`,
    failures: `${prefix}failures_total`,
    active: `${prefix}active`
  }
}
