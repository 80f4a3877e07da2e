/**
 * The health figures as JSON and as Prometheus text exposition format.
 * Gauges describe the present, counters (`_total`) only ever grow. Labels
 * carry the peer and connection id; their cardinality is bounded by the
 * open connections.
 */
import { renderPrometheus } from '@x/interface'
import { DEFAULT_METRICS_PREFIX } from './constants.ts'
import { metricNames } from './metric-names.ts'
import type { NetworkHealthSummary } from './index.ts'
import type { HealthMetricNames } from './metric-names.ts'
import type { ConnectionRecord } from './record.ts'
import type { PrometheusFamily, PrometheusMetricType } from '@x/interface'

/** A per-connection figure: its name in `HealthMetricNames`, help, type and value */
export interface ConnectionFigure {
  name: keyof HealthMetricNames
  help: string
  type: PrometheusMetricType
  value(record: ConnectionRecord): number
}

/**
 * The per-connection figures, shared by the Prometheus text and the libp2p
 * `metrics` registration so that both carry the same names and values
 * (the connection's age is added to the text only: it needs the time)
 */
export const CONNECTION_FIGURES: ConnectionFigure[] = [
  { name: 'connectionScore', help: 'Health score of a connection (0..1)', type: 'gauge', value: r => r.score },
  { name: 'connectionRttSeconds', help: 'EWMA ping round trip time of a connection', type: 'gauge', value: r => r.rtt.samples > 0 ? r.rtt.ewma / 1000 : 0 },
  { name: 'connectionSuccessRatio', help: 'Decayed ping success rate of a connection (0..1)', type: 'gauge', value: r => r.successRate },
  { name: 'connectionReceivedBytesTotal', help: 'Bytes received on a connection', type: 'counter', value: r => r.bytes.totalIn },
  { name: 'connectionSentBytesTotal', help: 'Bytes sent on a connection', type: 'counter', value: r => r.bytes.totalOut },
  { name: 'connectionStreamsFailedTotal', help: 'Streams that failed to open on a connection', type: 'counter', value: r => r.streamsFailed }
]

export function prometheusText (records: ConnectionRecord[], summary: NetworkHealthSummary, now: number, names: HealthMetricNames = metricNames(DEFAULT_METRICS_PREFIX)): string {
  const per = (fn: (r: ConnectionRecord) => number): PrometheusFamily['samples'] => records.map(r => ({
    labels: { peer: r.peer.toString(), connection: r.connection.id },
    value: fn(r)
  }))

  return renderPrometheus([
    { name: names.peers, help: 'Peers with open connections', type: 'gauge', samples: [{ value: summary.peers }] },
    { name: names.connections, help: 'Open connections monitored', type: 'gauge', samples: [{ value: summary.connections }] },
    { name: names.unhealthyConnections, help: 'Connections below the health threshold', type: 'gauge', samples: [{ value: summary.unhealthy }] },
    { name: names.averageScore, help: 'Mean health score of open connections (0..1)', type: 'gauge', samples: [{ value: summary.averageScore }] },
    { name: names.pingUnsupportedConnections, help: 'Open connections whose remote refused a ping stream', type: 'gauge', samples: [{ value: summary.pingUnsupported }] },
    { name: names.probesTotal, help: 'Probes sent', type: 'counter', samples: [{ value: summary.probes }] },
    { name: names.probeFailuresTotal, help: 'Probes that failed', type: 'counter', samples: [{ value: summary.probeFailures }] },
    { name: names.probesSkippedTotal, help: 'Probes not sent because another ping stream was in flight on the connection', type: 'counter', samples: [{ value: summary.probesSkipped }] },
    { name: names.probesStalledTotal, help: 'Probes unanswered while this process was stalled, not counted as failures', type: 'counter', samples: [{ value: summary.probesStalled }] },
    { name: names.replacementsTotal, help: 'Connections replaced for being unhealthy', type: 'counter', samples: [{ value: summary.replacements }] },
    { name: names.futileReplacementsTotal, help: 'Replacements no better than the connection they replaced', type: 'counter', samples: [{ value: summary.futileReplacements }] },
    ...CONNECTION_FIGURES.map(figure => ({ name: names[figure.name], help: figure.help, type: figure.type, samples: per(figure.value) })),
    { name: names.connectionAgeSeconds, help: 'Time since a connection opened', type: 'gauge', samples: per(r => (now - r.opened) / 1000) }
  ])
}
