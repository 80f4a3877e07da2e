/**
 * The health figures registered with libp2p's `metrics` component (for
 * example `@libp2p/prometheus-metrics`), computed when the metrics are
 * scraped, under the same names as `exportHealthMetrics('prometheus')`.
 *
 * libp2p metric groups carry one label, so per-connection figures use the
 * label `connection` with the value `<peer id>/<connection id>`. Their
 * cardinality is bounded by the open connections: a closed connection's
 * series disappear at the next scrape.
 */
import { DEFAULT_METRICS_PREFIX } from './constants.ts'
import { CONNECTION_FIGURES } from './export.ts'
import { metricNames } from './metric-names.ts'
import type { NetworkHealthSummary } from './index.ts'
import type { HealthMetricNames } from './metric-names.ts'
import type { ConnectionRecord } from './record.ts'
import type { Metrics } from '@libp2p/interface'

/** What the registered metrics read, at scrape time */
export interface HealthMetricsSource {
  readonly records: ReadonlyMap<string, ConnectionRecord>
  getNetworkHealthSummary(): NetworkHealthSummary
}

export function registerHealthMetrics (metrics: Metrics, source: HealthMetricsSource, names: HealthMetricNames = metricNames(DEFAULT_METRICS_PREFIX)): void {
  metrics.registerMetricGroup(names.summaryGroup, {
    help: 'Connection health: peers, connections, unhealthy connections, average score, connections whose remote refused a ping stream',
    calculate: () => {
      const s = source.getNetworkHealthSummary()
      return { peers: s.peers, connections: s.connections, unhealthy: s.unhealthy, average_score: s.averageScore, ping_unsupported: s.pingUnsupported }
    }
  })
  metrics.registerCounterGroup(names.eventsGroupTotal, {
    help: 'Probes, failed, skipped and stalled probes (unanswered while this process was stalled), replacements and futile replacements',
    calculate: () => {
      const s = source.getNetworkHealthSummary()
      return { probes: s.probes, probe_failures: s.probeFailures, probes_skipped: s.probesSkipped, probes_stalled: s.probesStalled, replacements: s.replacements, futile_replacements: s.futileReplacements }
    }
  })

  for (const { name: key, help, type, value } of CONNECTION_FIGURES) {
    const name = names[key]
    const options = { label: 'connection', help, calculate: () => perConnection(source, value) }

    if (type === 'counter') {
      metrics.registerCounterGroup(name, options)
    } else {
      metrics.registerMetricGroup(name, options)
    }
  }
}

function perConnection (source: HealthMetricsSource, value: (record: ConnectionRecord) => number): Record<string, number> {
  const out: Record<string, number> = {}

  for (const record of source.records.values()) {
    const figure = value(record)
    out[`${record.peer}/${record.connection.id}`] = Number.isFinite(figure) ? figure : 0
  }

  return out
}
