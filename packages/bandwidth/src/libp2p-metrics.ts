/**
 * The bandwidth figures registered with libp2p's `metrics` component (for
 * example `@libp2p/prometheus-metrics`), computed at scrape time, under the
 * names of `metric-names.ts`. libp2p metric groups carry one label, so the
 * label joins what the Prometheus text keeps apart: `class`/`peer`/
 * `protocol` totals are keyed `<name>:<direction>`, rates
 * `<scope>:<name>:<direction>:<window>`.
 */
import { metricNames } from './metric-names.ts'
import type { BandwidthMetrics, DirectionRates } from './index.ts'
import type { Metrics } from '@libp2p/interface'

function totals (table: Record<string, DirectionRates>): Record<string, number> {
  const out: Record<string, number> = {}

  for (const [key, r] of Object.entries(table)) {
    out[`${key}:in`] = r.in.total
    out[`${key}:out`] = r.out.total
  }

  return out
}

function rates (m: BandwidthMetrics): Record<string, number> {
  const out: Record<string, number> = {}
  const scopes: Array<[string, Record<string, DirectionRates>]> = [['node', { node: m.node }], ['peer', m.peers], ['protocol', m.protocols], ['class', m.classes]]

  for (const [scope, table] of scopes) {
    for (const [name, r] of Object.entries(table)) {
      for (const direction of ['in', 'out'] as const) {
        out[`${scope}:${name}:${direction}:1s`] = r[direction].rate1s
        out[`${scope}:${name}:${direction}:1m`] = r[direction].rate1m
      }
    }
  }

  return out
}

function perClass (m: BandwidthMetrics, value: (c: BandwidthMetrics['classes'][string]) => number): Record<string, number> {
  return Object.fromEntries(Object.entries(m.classes).map(([name, c]) => [name, value(c)]))
}

function perPath (m: BandwidthMetrics, value: (c: BandwidthMetrics['congestion'][number]) => number): Record<string, number> {
  return Object.fromEntries(m.congestion.map(c => [`${c.peer}/${c.connection}`, value(c)]))
}

export function registerBandwidthMetrics (metrics: Metrics, prefix: string, read: () => BandwidthMetrics): void {
  const n = metricNames(prefix)

  metrics.registerCounterGroup(n.classBytes, { label: 'class', help: 'Bytes per traffic class (<class>:<in|out>)', calculate: () => totals(read().classes) })
  metrics.registerCounterGroup(n.peerBytes, { label: 'peer', help: 'Bytes per peer (<peer>:<in|out>)', calculate: () => totals(read().peers) })
  metrics.registerCounterGroup(n.protocolBytes, { label: 'protocol', help: 'Bytes per protocol (<protocol>:<in|out>)', calculate: () => totals(read().protocols) })
  metrics.registerMetricGroup(n.rate, { label: 'rate', help: 'Bytes/s (<scope>:<name>:<in|out>:<1s|1m>)', calculate: () => rates(read()) })
  metrics.registerMetricGroup(n.queueStreams, { label: 'class', help: 'Streams waiting to send, per class', calculate: () => perClass(read(), c => c.queue.streams) })
  metrics.registerMetricGroup(n.queueBytes, { label: 'class', help: 'Bytes waiting to be sent, per class', calculate: () => perClass(read(), c => c.queue.bytes) })
  metrics.registerMetricGroup(n.queueDelay, { label: 'class', help: 'Average (EWMA) wait for a share, per class', calculate: () => perClass(read(), c => c.queue.avgDelay / 1000) })
  metrics.registerMetricGroup(n.queueDelayMax, { label: 'class', help: 'Longest wait over the last 1-2 s, per class', calculate: () => perClass(read(), c => c.queue.maxDelay / 1000) })
  metrics.registerMetricGroup(n.openStreams, { label: 'class', help: 'Open streams, per class', calculate: () => perClass(read(), c => c.openStreams) })
  metrics.registerCounter(n.unshapedStreams, { help: 'Streams that could not be shaped', calculate: () => read().streams.unshaped })
  metrics.registerCounter(n.downloadPauses, { help: 'Times a stream was paused for a download budget', calculate: () => read().streams.downloadPauses })
  metrics.registerMetricGroup(n.congestionRate, { label: 'connection', help: 'Upload rate allowed to background classes, per connection', calculate: () => perPath(read(), c => c.rate) })
  metrics.registerMetricGroup(n.congestionQueuingDelay, { label: 'connection', help: 'RTT above the base RTT, per connection', calculate: () => perPath(read(), c => Math.max(0, c.currentDelay - c.baseDelay) / 1000) })
}
