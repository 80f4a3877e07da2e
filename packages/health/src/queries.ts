/**
 * What the service answers about the connections it measures: one peer's
 * reports, the network summary, and the JSON and Prometheus exports.
 */
import { SUMMARY_WORST } from './constants.ts'
import { prometheusText } from './export.ts'
import { snapshot } from './state.ts'
import type { ConnectionHealthReport, NetworkHealthSummary, PeerHealth } from './index.ts'
import type { HealthMetricNames } from './metric-names.ts'
import type { ConnectionRecord } from './record.ts'
import type { StateContext } from './state.ts'
import type { PeerId } from '@libp2p/interface'

/** What the queries read of the service */
export interface QuerySource extends Pick<StateContext, 'options' | 'getTimeout'> {
  readonly records: ReadonlyMap<string, ConnectionRecord>
  readonly metricNames: HealthMetricNames
  readonly counters: { probes: number, probeFailures: number, probesSkipped: number, probesStalled: number, replacements: number, futileReplacements: number }
}

export function connectionReport (source: QuerySource, record: ConnectionRecord, now: number): ConnectionHealthReport {
  return {
    ...snapshot(source, record, now),
    age: now - record.opened,
    probe: record.probe,
    pingUnsupported: record.pingUnsupported,
    probes: record.probes,
    probeFailures: record.probeFailures,
    probesSkipped: record.probesSkipped,
    probesBlocked: record.probesBlocked,
    probesStalled: record.probesStalled,
    streamsOpened: record.streamsOpened,
    streamsFailed: record.streamsFailed,
    openStreams: record.connection.streams.length,
    bytesIn: record.bytes.totalIn,
    bytesOut: record.bytes.totalOut,
    rates: record.bytes.rates(now),
    errors: [...record.errors],
    events: [...record.events]
  }
}

export function peerHealth (source: QuerySource, peer: PeerId): PeerHealth | undefined {
  const now = Date.now()
  const connections = [...source.records.values()].filter(r => r.peer.equals(peer)).map(r => connectionReport(source, r, now))

  if (connections.length === 0) {
    return undefined
  }

  return {
    peer,
    score: Math.max(...connections.map(c => c.score)),
    connections,
    adaptiveTimeout: source.getTimeout(peer)
  }
}

export function summary (source: QuerySource): NetworkHealthSummary {
  const records = [...source.records.values()]
  const peers = new Set(records.map(r => r.peer.toString()))
  const sorted = [...records].sort((a, b) => a.score - b.score)
  const { probes, probeFailures, probesSkipped, probesStalled, replacements, futileReplacements } = source.counters

  return {
    peers: peers.size,
    connections: records.length,
    averageScore: records.length === 0 ? 1 : records.reduce((sum, r) => sum + r.score, 0) / records.length,
    unhealthy: records.filter(r => r.state !== 'healthy').length,
    worst: sorted.slice(0, SUMMARY_WORST).map(r => ({ peer: r.peer.toString(), connectionId: r.connection.id, score: r.score, state: r.state })),
    probes,
    probeFailures,
    probesSkipped,
    probesStalled,
    replacements,
    futileReplacements,
    pingUnsupported: records.filter(r => r.pingUnsupported).length
  }
}

export function exportMetrics (source: QuerySource, format: 'json' | 'prometheus'): string {
  const now = Date.now()
  const records = [...source.records.values()]

  if (format === 'prometheus') {
    return prometheusText(records, summary(source), now, source.metricNames)
  }

  return JSON.stringify({
    summary: summary(source),
    connections: records.map(r => ({ ...connectionReport(source, r, now), peer: r.peer.toString() }))
  })
}
