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
import type { NetworkHealthSummary } from './index.ts'
import type { ConnectionRecord } from './record.ts'
import type { Metrics } from '@libp2p/interface'

/** What the registered metrics read, at scrape time */
export interface HealthMetricsSource {
  readonly records: ReadonlyMap<string, ConnectionRecord>
  getNetworkHealthSummary(): NetworkHealthSummary
}

type PerConnection = (record: ConnectionRecord) => number

const GAUGES: Array<[name: string, help: string, value: PerConnection]> = [
  ['x_health_connection_score', 'Health score of a connection (0..1)', r => r.score],
  ['x_health_connection_rtt_seconds', 'EWMA ping round trip time of a connection', r => r.rtt.samples > 0 ? r.rtt.ewma / 1000 : 0],
  ['x_health_connection_success_ratio', 'Decayed ping success rate of a connection (0..1)', r => r.successRate]
]

const COUNTERS: Array<[name: string, help: string, value: PerConnection]> = [
  ['x_health_connection_received_bytes_total', 'Bytes received on a connection', r => r.bytes.totalIn],
  ['x_health_connection_sent_bytes_total', 'Bytes sent on a connection', r => r.bytes.totalOut],
  ['x_health_connection_streams_failed_total', 'Streams that failed to open on a connection', r => r.streamsFailed]
]

export function registerHealthMetrics (metrics: Metrics, source: HealthMetricsSource): void {
  metrics.registerMetricGroup('x_health_summary', {
    help: 'Connection health: peers, connections, unhealthy connections, average score',
    calculate: () => {
      const s = source.getNetworkHealthSummary()
      return { peers: s.peers, connections: s.connections, unhealthy: s.unhealthy, average_score: s.averageScore }
    }
  })
  metrics.registerCounterGroup('x_health_events_total', {
    help: 'Probes, failed probes and replacements',
    calculate: () => {
      const s = source.getNetworkHealthSummary()
      return { probes: s.probes, probe_failures: s.probeFailures, replacements: s.replacements }
    }
  })

  for (const [name, help, value] of GAUGES) {
    metrics.registerMetricGroup(name, { label: 'connection', help, calculate: () => perConnection(source, value) })
  }

  for (const [name, help, value] of COUNTERS) {
    metrics.registerCounterGroup(name, { label: 'connection', help, calculate: () => perConnection(source, value) })
  }
}

function perConnection (source: HealthMetricsSource, value: PerConnection): Record<string, number> {
  const out: Record<string, number> = {}

  for (const record of source.records.values()) {
    const figure = value(record)
    out[`${record.peer}/${record.connection.id}`] = Number.isFinite(figure) ? figure : 0
  }

  return out
}
