/**
 * The metrics as JSON and as Prometheus text exposition format, under the
 * names of `metric-names.ts`. Label cardinality is bounded by the options
 * (classes), `maxTrackedPeers`, `maxTrackedProtocols` and the open
 * connections with background traffic.
 */
import { renderPrometheus } from '@x/interface'
import { metricNames } from './metric-names.ts'
import type { BandwidthMetrics, DirectionRates } from './index.ts'
import type { PrometheusSample } from '@x/interface'

function totals (table: Record<string, DirectionRates>, label: string): PrometheusSample[] {
  return Object.entries(table).flatMap(([key, rates]) => [
    { labels: { direction: 'in', [label]: key }, value: rates.in.total },
    { labels: { direction: 'out', [label]: key }, value: rates.out.total }
  ])
}

function rates (scope: string, table: Record<string, DirectionRates>): PrometheusSample[] {
  return Object.entries(table).flatMap(([name, r]) => (['in', 'out'] as const).flatMap(direction => [
    { labels: { scope, name, direction, window: '1s' }, value: r[direction].rate1s },
    { labels: { scope, name, direction, window: '1m' }, value: r[direction].rate1m }
  ]))
}

export function prometheusText (prefix: string, m: BandwidthMetrics): string {
  const n = metricNames(prefix)
  const classes = Object.entries(m.classes)
  const perClass = (value: (c: BandwidthMetrics['classes'][string]) => number): PrometheusSample[] => classes.map(([name, c]) => ({ labels: { class: name }, value: value(c) }))
  const perPath = (value: (c: BandwidthMetrics['congestion'][number]) => number): PrometheusSample[] => m.congestion.map(c => ({ labels: { connection: `${c.peer}/${c.connection}` }, value: value(c) }))

  return renderPrometheus([
    { name: n.classBytes, help: 'Bytes sent (out) and received (in) per traffic class', type: 'counter', samples: totals(Object.fromEntries(classes), 'class') },
    { name: n.peerBytes, help: 'Bytes sent and received per peer (other: past maxTrackedPeers)', type: 'counter', samples: totals(m.peers, 'peer') },
    { name: n.protocolBytes, help: 'Bytes sent and received per protocol (other: past maxTrackedProtocols)', type: 'counter', samples: totals(m.protocols, 'protocol') },
    {
      name: n.rate,
      help: 'Bytes per second over the last second (1s) or minute (1m), per node, peer, protocol and class',
      type: 'gauge',
      samples: [...rates('node', { node: m.node }), ...rates('peer', m.peers), ...rates('protocol', m.protocols), ...rates('class', Object.fromEntries(classes))]
    },
    { name: n.queueStreams, help: 'Streams waiting to send, per class', type: 'gauge', samples: perClass(c => c.queue.streams) },
    { name: n.queueBytes, help: 'Bytes waiting to be sent, per class', type: 'gauge', samples: perClass(c => c.queue.bytes) },
    { name: n.queueDelay, help: 'Average (EWMA) time a stream waited for its share, per class', type: 'gauge', samples: perClass(c => c.queue.avgDelay / 1000) },
    { name: n.queueDelayMax, help: 'Longest time a stream waited for its share over the last 1-2 s, per class', type: 'gauge', samples: perClass(c => c.queue.maxDelay / 1000) },
    { name: n.openStreams, help: 'Open streams, per class', type: 'gauge', samples: perClass(c => c.openStreams) },
    { name: n.unshapedStreams, help: 'Streams that could not be shaped (no sendData/onData hooks)', type: 'counter', samples: [{ labels: {}, value: m.streams.unshaped }] },
    { name: n.downloadPauses, help: 'Times a stream was paused for a download budget', type: 'counter', samples: [{ labels: {}, value: m.streams.downloadPauses }] },
    { name: n.congestionRate, help: 'Upload rate congestion control allows background classes, per connection', type: 'gauge', samples: perPath(c => c.rate) },
    { name: n.congestionQueuingDelay, help: 'RTT above the base RTT, per connection with background traffic', type: 'gauge', samples: perPath(c => Math.max(0, c.currentDelay - c.baseDelay) / 1000) }
  ])
}

export function exportJson (m: BandwidthMetrics): string {
  return JSON.stringify(m, (_key, value) => typeof value === 'number' && !Number.isFinite(value) ? null : value)
}
