/**
 * The demo's libp2p `metrics` component: it keeps every metric the node's
 * services (and libp2p itself) register, so that `/metrics` serves each of
 * them without a list to keep up to date. Calculated metrics are read when
 * `/metrics` is scraped; the others keep the values they are given.
 *
 * A group is served as `@libp2p/prometheus-metrics` serves it: one label,
 * named by the group's `label` option or else by the metric's name, whose
 * values are the group's keys; names and labels are normalised as it
 * normalises them. Histograms and summaries are recorded by
 * name but not served (no package of the suite registers one); connections
 * and streams are not tracked.
 */
import type { CalculatedMetricOptions, CalculateMetric, Counter, CounterGroup, Histogram, HistogramGroup, Metric, MetricGroup, MetricOptions, Metrics, StopTimer, Summary, SummaryGroup } from '@libp2p/interface'

/** Keys a group given values (not calculated) keeps; values for further keys are dropped and counted (`MetricsRegistry.droppedValues`) */
export const MAX_GROUP_KEYS = 1_024

export type RegisteredType = 'gauge' | 'counter'

/** A metric as registered: its name, help, type, the label of a group, and how to read it */
export interface RegisteredMetric {
  name: string
  help: string
  type: RegisteredType
  /** A group's label name; none for a single value */
  label?: string
  read(): number | Record<string, number> | Promise<number | Record<string, number>>
}

/**
 * A metric or label name as Prometheus allows it: what is not a letter,
 * digit or underscore becomes one underscore, as `@libp2p/prometheus-metrics`
 * normalises names (libp2p registers `libp2p_webrtc-direct_dialer_events_total`)
 */
export function normaliseName (name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_')
}

const noop = (): void => {}
const noopTimer = (): StopTimer => noop

/** A single value set by its owner */
class Value implements Metric, Counter {
  value = 0

  update (value: number): void { this.value = value }
  increment (value = 1): void { this.value += value }
  decrement (value = 1): void { this.value -= value }
  reset (): void { this.value = 0 }

  timer (): StopTimer {
    const started = performance.now()
    return () => { this.update((performance.now() - started) / 1000) }
  }
}

/**
 * Values by key, set by their owner (at most `MAX_GROUP_KEYS` keys). Keys
 * are any strings (a Map: `constructor` or `__proto__` are keys like any
 * other); `reset()` drops them all, as prom-client resets a labelled metric
 */
class Values implements MetricGroup, CounterGroup {
  private readonly values = new Map<string, number>()
  private readonly onDrop: () => void

  /** `onDrop` is called for each value dropped for a key past `MAX_GROUP_KEYS` */
  constructor (onDrop: () => void) {
    this.onDrop = onDrop
  }

  private set (key: string, value: number): void {
    if (this.values.size >= MAX_GROUP_KEYS && !this.values.has(key)) {
      this.onDrop()
      return
    }

    this.values.set(key, value)
  }

  /** The values by key, as a new object (every key an own property) */
  read (): Record<string, number> {
    return Object.fromEntries(this.values)
  }

  update (values: Record<string, number>): void {
    for (const [key, value] of Object.entries(values)) { this.set(key, value) }
  }

  increment (values: Record<string, number | true>): void {
    for (const [key, by] of Object.entries(values)) { this.set(key, (this.values.get(key) ?? 0) + (by === true ? 1 : by)) }
  }

  decrement (values: Record<string, number | true>): void {
    for (const [key, by] of Object.entries(values)) { this.set(key, (this.values.get(key) ?? 0) - (by === true ? 1 : by)) }
  }

  reset (): void {
    this.values.clear()
  }

  timer (key: string): StopTimer {
    const started = performance.now()
    return () => { this.update({ [key]: (performance.now() - started) / 1000 }) }
  }
}

export class MetricsRegistry implements Metrics {
  private readonly metrics = new Map<string, RegisteredMetric>()
  /** Histograms and summaries: registered, not served */
  private readonly unserved = new Set<string>()
  /** Values given to a group for a key past its `MAX_GROUP_KEYS`, dropped */
  droppedValues = 0
  private readonly onDrop = (): void => { this.droppedValues++ }

  /** The metrics that can be served, in the order registered */
  registered (): RegisteredMetric[] {
    return [...this.metrics.values()]
  }

  /** The name of every metric registered, served or not */
  names (): string[] {
    return [...this.metrics.keys(), ...this.unserved]
  }

  private register<T extends number | Record<string, number>> (name: string, type: RegisteredType, group: boolean, options: MetricOptions | CalculatedMetricOptions<T> | undefined, state: { read(): T }): void {
    const calculate = (options as Partial<CalculatedMetricOptions<T>> | undefined)?.calculate as CalculateMetric<T> | undefined
    name = normaliseName(name)

    this.metrics.set(name, {
      name,
      help: options?.help ?? name,
      type,
      label: group ? normaliseName(options?.label ?? name) : undefined,
      read: calculate ?? (() => state.read())
    })
  }

  registerMetric (name: string, options?: MetricOptions | CalculatedMetricOptions): any {
    const value = new Value()
    this.register(name, 'gauge', false, options, { read: () => value.value })
    return value
  }

  registerCounter (name: string, options?: MetricOptions | CalculatedMetricOptions): any {
    const value = new Value()
    this.register(name, 'counter', false, options, { read: () => value.value })
    return value
  }

  registerMetricGroup (name: string, options?: MetricOptions | CalculatedMetricOptions<Record<string, number>>): any {
    const values = new Values(this.onDrop)
    this.register(name, 'gauge', true, options, values)
    return values
  }

  registerCounterGroup (name: string, options?: MetricOptions | CalculatedMetricOptions<Record<string, number>>): any {
    const values = new Values(this.onDrop)
    this.register(name, 'counter', true, options, values)
    return values
  }

  registerHistogram (name: string): any {
    this.unserved.add(normaliseName(name))
    return { observe: noop, reset: noop, timer: noopTimer } satisfies Histogram
  }

  registerHistogramGroup (name: string): any {
    this.unserved.add(normaliseName(name))
    return { observe: noop, reset: noop, timer: noopTimer } satisfies HistogramGroup
  }

  registerSummary (name: string): any {
    this.unserved.add(normaliseName(name))
    return { observe: noop, reset: noop, timer: noopTimer } satisfies Summary
  }

  registerSummaryGroup (name: string): any {
    this.unserved.add(normaliseName(name))
    return { observe: noop, reset: noop, timer: noopTimer } satisfies SummaryGroup
  }

  trackMultiaddrConnection (): void {}

  trackProtocolStream (): void {}

  traceFunction (_name: string, fn: any): any {
    return fn
  }

  createTrace (): any {
    return undefined
  }
}
