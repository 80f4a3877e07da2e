/**
 * Every metric name of the package, from the `metricsPrefix` option: the
 * Prometheus text export and the libp2p `metrics` registration both take
 * their names from here. Counters end in `_total`, and only counters do.
 */
export interface HealthMetricNames {
  peers: string
  connections: string
  unhealthyConnections: string
  averageScore: string
  pingUnsupportedConnections: string
  probesTotal: string
  probeFailuresTotal: string
  probesSkippedTotal: string
  probesStalledTotal: string
  replacementsTotal: string
  futileReplacementsTotal: string
  connectionScore: string
  connectionRttSeconds: string
  connectionSuccessRatio: string
  connectionReceivedBytesTotal: string
  connectionSentBytesTotal: string
  connectionStreamsFailedTotal: string
  connectionAgeSeconds: string
  /** libp2p metric groups: the summary gauges, and the event counters */
  summaryGroup: string
  eventsGroupTotal: string
}

export function metricNames (prefix: string): HealthMetricNames {
  return {
    peers: `${prefix}peers`,
    connections: `${prefix}connections`,
    unhealthyConnections: `${prefix}unhealthy_connections`,
    averageScore: `${prefix}average_score`,
    pingUnsupportedConnections: `${prefix}ping_unsupported_connections`,
    probesTotal: `${prefix}probes_total`,
    probeFailuresTotal: `${prefix}probe_failures_total`,
    probesSkippedTotal: `${prefix}probes_skipped_total`,
    probesStalledTotal: `${prefix}probes_stalled_total`,
    replacementsTotal: `${prefix}replacements_total`,
    futileReplacementsTotal: `${prefix}futile_replacements_total`,
    connectionScore: `${prefix}connection_score`,
    connectionRttSeconds: `${prefix}connection_rtt_seconds`,
    connectionSuccessRatio: `${prefix}connection_success_ratio`,
    connectionReceivedBytesTotal: `${prefix}connection_received_bytes_total`,
    connectionSentBytesTotal: `${prefix}connection_sent_bytes_total`,
    connectionStreamsFailedTotal: `${prefix}connection_streams_failed_total`,
    connectionAgeSeconds: `${prefix}connection_age_seconds`,
    summaryGroup: `${prefix}summary`,
    eventsGroupTotal: `${prefix}events_total`
  }
}
