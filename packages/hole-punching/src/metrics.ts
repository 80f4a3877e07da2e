/**
 * Counts of attempts and outcomes, the last MAX_OUTCOMES outcomes, and their
 * registration with libp2p's `metrics` component (names in metric-names.ts).
 */
import { MAX_OUTCOMES } from './constants.ts'
import { metricNames } from './metric-names.ts'
import type { HolePunchOutcome } from './index.ts'
import type { CounterGroup, Metrics } from '@libp2p/interface'

/** Error names counted apart; anything else is counted as `other` */
const KNOWN_ERRORS = new Set([
  'NoPublicAddressError', 'NoDialableAddressError', 'UnexpectedMessageError', 'PunchFailedError',
  'TooManyHolePunchesError', 'TimeoutError', 'AbortError', 'UnsupportedProtocolError', 'EncryptionFailedError'
])

export interface MetricsSnapshot {
  attempts: number
  successes: number
  failures: number
  failuresByError: Record<string, number>
}

export class HolePunchMetrics {
  private attempts = 0
  private successes = 0
  private readonly failures: Record<string, number> = {}
  private readonly history: HolePunchOutcome[] = []
  private readonly attemptsGroup?: CounterGroup
  private readonly successesGroup?: CounterGroup
  private readonly failuresGroup?: CounterGroup

  constructor (prefix: string, metrics: Metrics | undefined, active: () => number) {
    const names = metricNames(prefix)
    this.attemptsGroup = metrics?.registerCounterGroup(names.attempts, { help: 'Hole punch attempts by role' })
    this.successesGroup = metrics?.registerCounterGroup(names.successes, { help: 'Hole punch attempts that ended in a direct connection, by role' })
    this.failuresGroup = metrics?.registerCounterGroup(names.failures, { help: 'Failed hole punch attempts by error name' })
    metrics?.registerMetric(names.active, { help: 'Hole punches running now', calculate: active })
  }

  record (outcome: HolePunchOutcome): void {
    this.attempts++
    this.attemptsGroup?.increment({ [outcome.role]: true })

    if (outcome.success) {
      this.successes++
      this.successesGroup?.increment({ [outcome.role]: true })
    } else {
      const name = KNOWN_ERRORS.has(outcome.error ?? '') ? String(outcome.error) : 'other'
      this.failures[name] = (this.failures[name] ?? 0) + 1
      this.failuresGroup?.increment({ [name]: true })
    }

    this.history.push(outcome)

    if (this.history.length > MAX_OUTCOMES) {
      this.history.shift()
    }
  }

  snapshot (): MetricsSnapshot {
    const failures = Object.values(this.failures).reduce((a, b) => a + b, 0)
    return { attempts: this.attempts, successes: this.successes, failures, failuresByError: { ...this.failures } }
  }

  outcomes (): HolePunchOutcome[] {
    return [...this.history]
  }
}
