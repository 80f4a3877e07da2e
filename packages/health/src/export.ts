/**
 * The health figures as JSON and as Prometheus text exposition format.
 * Gauges describe the present, counters (`_total`) only ever grow. Labels
 * carry the peer and connection id; their cardinality is bounded by the
 * open connections.
 */
import type { NetworkHealthSummary } from './index.ts'
import type { ConnectionRecord } from './record.ts'

interface Family {
  name: string
  help: string
  type: 'gauge' | 'counter'
  samples: Array<{ labels?: Record<string, string>, value: number }>
}

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function render (families: Family[]): string {
  const lines: string[] = []

  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)

    for (const sample of family.samples) {
      const labels = sample.labels == null
        ? ''
        : `{${Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
      lines.push(`${family.name}${labels} ${Number.isFinite(sample.value) ? sample.value : 0}`)
    }
  }

  return lines.join('\n') + '\n'
}

/**
 * The per-connection figures, shared by the Prometheus text and the libp2p
 * `metrics` registration so that both carry the same names and values
 * (the connection's age is added to the text only: it needs the time)
 */
export const CONNECTION_FIGURES: Array<{ name: string, help: string, type: Family['type'], value(record: ConnectionRecord): number }> = [
  { name: 'x_health_connection_score', help: 'Health score of a connection (0..1)', type: 'gauge', value: r => r.score },
  { name: 'x_health_connection_rtt_seconds', help: 'EWMA ping round trip time of a connection', type: 'gauge', value: r => r.rtt.samples > 0 ? r.rtt.ewma / 1000 : 0 },
  { name: 'x_health_connection_success_ratio', help: 'Decayed ping success rate of a connection (0..1)', type: 'gauge', value: r => r.successRate },
  { name: 'x_health_connection_received_bytes_total', help: 'Bytes received on a connection', type: 'counter', value: r => r.bytes.totalIn },
  { name: 'x_health_connection_sent_bytes_total', help: 'Bytes sent on a connection', type: 'counter', value: r => r.bytes.totalOut },
  { name: 'x_health_connection_streams_failed_total', help: 'Streams that failed to open on a connection', type: 'counter', value: r => r.streamsFailed }
]

export function prometheusText (records: ConnectionRecord[], summary: NetworkHealthSummary, now: number): string {
  const per = (fn: (r: ConnectionRecord) => number): Family['samples'] => records.map(r => ({
    labels: { peer: r.peer.toString(), connection: r.connection.id },
    value: fn(r)
  }))

  return render([
    { name: 'x_health_peers', help: 'Peers with open connections', type: 'gauge', samples: [{ value: summary.peers }] },
    { name: 'x_health_connections', help: 'Open connections monitored', type: 'gauge', samples: [{ value: summary.connections }] },
    { name: 'x_health_unhealthy_connections', help: 'Connections below the health threshold', type: 'gauge', samples: [{ value: summary.unhealthy }] },
    { name: 'x_health_average_score', help: 'Mean health score of open connections (0..1)', type: 'gauge', samples: [{ value: summary.averageScore }] },
    { name: 'x_health_probes_total', help: 'Ping probes sent', type: 'counter', samples: [{ value: summary.probes }] },
    { name: 'x_health_probe_failures_total', help: 'Ping probes that failed', type: 'counter', samples: [{ value: summary.probeFailures }] },
    { name: 'x_health_replacements_total', help: 'Connections replaced for being unhealthy', type: 'counter', samples: [{ value: summary.replacements }] },
    ...CONNECTION_FIGURES.map(figure => ({ name: figure.name, help: figure.help, type: figure.type, samples: per(figure.value) })),
    { name: 'x_health_connection_age_seconds', help: 'Time since a connection opened', type: 'gauge', samples: per(r => (now - r.opened) / 1000) }
  ])
}
