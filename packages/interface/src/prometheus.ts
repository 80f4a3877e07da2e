/**
 * The Prometheus text exposition format (version 0.0.4), as the suite's
 * packages export their metrics (`@x/health`'s `exportHealthMetrics('prometheus')`,
 * `@x/bandwidth`'s `exportMetrics('prometheus')`): one renderer, so every
 * package escapes and formats alike.
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

/** The metric types the suite exports: counters (names end in `_total`) and gauges */
export type PrometheusMetricType = 'gauge' | 'counter'

/** One sample of a family: its labels (none when absent or empty) and its value */
export interface PrometheusSample {
  labels?: Record<string, string>
  value: number
}

/** A metric family: rendered as one `# HELP` line, one `# TYPE` line and its samples */
export interface PrometheusFamily {
  name: string
  help: string
  type: PrometheusMetricType
  samples: PrometheusSample[]
}

/**
 * A label value as the text format wants it between its double quotes:
 * backslash, double quote and line feed escaped (`\\`, `\"`, `\n`)
 */
export function escapePrometheusLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

/** A `# HELP` text: backslash and line feed escaped (quotes stay as they are) */
export function escapePrometheusHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/**
 * A sample value as the text format spells it: `NaN`, `+Inf` and `-Inf` for
 * the values that are not finite (as the Go client writes them), so an
 * average of nothing reads as no value, not as a measured 0
 */
export function formatPrometheusValue (value: number): string {
  if (Number.isNaN(value)) {
    return 'NaN'
  }

  if (!Number.isFinite(value)) {
    return value > 0 ? '+Inf' : '-Inf'
  }

  return String(value)
}

/**
 * Renders metric families in the Prometheus text format, in the order given,
 * ending with a line feed. A family with no samples still gets its HELP and
 * TYPE lines. Families given more than once under one name are merged into
 * the first (its HELP and TYPE), so each name has one HELP and one TYPE line
 * and its samples in one group, as the format requires. A value that is not
 * a finite number is written `NaN`, `+Inf` or `-Inf` (`formatPrometheusValue`).
 *
 * @example
 *
 * ```TypeScript
 * import { renderPrometheus } from '@x/interface'
 *
 * const text = renderPrometheus([
 *   { name: 'x_demo_requests_total', help: 'Requests sent', type: 'counter', samples: [{ labels: { peer: 'a' }, value: 3 }] }
 * ])
 * // # HELP x_demo_requests_total Requests sent
 * // # TYPE x_demo_requests_total counter
 * // x_demo_requests_total{peer="a"} 3
 * ```
 */
export function renderPrometheus (families: PrometheusFamily[]): string {
  const merged = new Map<string, PrometheusFamily>()

  for (const family of families) {
    const first = merged.get(family.name)

    if (first == null) {
      merged.set(family.name, { ...family, samples: [...family.samples] })
    } else {
      first.samples.push(...family.samples)
    }
  }

  const lines: string[] = []

  for (const family of merged.values()) {
    lines.push(`# HELP ${family.name} ${escapePrometheusHelp(family.help)}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)

    for (const sample of family.samples) {
      const entries = Object.entries(sample.labels ?? {})
      const labels = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapePrometheusLabel(v)}"`).join(',')}}`
      lines.push(`${family.name}${labels} ${formatPrometheusValue(sample.value)}`)
    }
  }

  return lines.join('\n') + '\n'
}
