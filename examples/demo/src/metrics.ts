/**
 * `/metrics`: Prometheus text for the whole swarm, built from what each
 * package exports - `health.exportHealthMetrics('prometheus')`,
 * `pool.getMetrics()`, `connectivity.getMetrics()`, the discovery
 * module's `getMetrics()`, `batching.getMetrics()` and
 * `bandwidth.exportMetrics('prometheus')` - with a `node` label on every sample. Families
 * are merged across nodes, so each has one HELP and one TYPE line.
 * Metric names follow the ones the packages register with libp2p `metrics`,
 * and every metric a node registered there (its `MetricsRegistry`) that is
 * not rendered above is served as registered.
 */
import { metricName } from '@x/message-batching'
import { METRIC_NAMES } from '@x/universal-connectivity'
import { Exposition } from './exposition.ts'
import { discoveries, registries } from './node.ts'
import { MAX_GROUP_KEYS } from './registry.ts'
import type { RegisteredMetric } from './registry.ts'
import type { Swarm } from './swarm.ts'

/** The batching service's default `metricsPrefix` */
const BATCHING_PREFIX = 'x_batching_'

export async function renderMetrics (swarm: Swarm): Promise<string> {
  const out = new Exposition()

  swarm.nodes.forEach((node, i) => {
    const n = { node: i }

    // health: its own Prometheus export
    out.merge(node.services.health.exportHealthMetrics('prometheus'), i)

    // pool
    const pool = node.services.pool.getMetrics()
    out.add('x_connection_pool_peers', 'Peers the pool manages', 'gauge', n, pool.peers)
    out.add('x_connection_pool_connections', 'Open connections to pooled peers', 'gauge', n, pool.connections)

    for (const [peer, count] of Object.entries(pool.connectionsPerPeer)) {
      out.add('x_connection_pool_peer_connections', 'Open pooled connections per peer', 'gauge', { ...n, peer, peer_node: swarm.indexOf(peer) }, count)
    }

    out.add('x_connection_pool_streams_total', 'Streams through the pool by outcome', 'counter', { ...n, outcome: 'opened' }, pool.streamsOpened)
    out.add('x_connection_pool_streams_total', 'Streams through the pool by outcome', 'counter', { ...n, outcome: 'failed' }, pool.streamFailures)
    out.add('x_connection_pool_streams_total', 'Streams through the pool by outcome', 'counter', { ...n, outcome: 'failover' }, pool.failovers)
    out.add('x_connection_pool_streams_per_second', 'Streams opened per second over the last 10 s', 'gauge', n, pool.streamsPerSecond)

    for (const [kind, value] of [['attempt', pool.dialAttempts], ['success', pool.dialSuccesses], ['failure', pool.dialFailures], ['retry', pool.dialRetries], ['refusal', pool.dialRefusals], ['limited', pool.limitedDials]] as const) {
      out.add('x_connection_pool_dials_total', 'Pool dials by outcome', 'counter', { ...n, outcome: kind }, value)
    }

    out.add('x_connection_pool_stream_open_seconds', 'Time to open a stream through the pool (last 1,024 streams)', 'gauge', { ...n, stat: 'average' }, pool.streamOpenTime.average / 1000)
    out.add('x_connection_pool_stream_open_seconds', 'Time to open a stream through the pool (last 1,024 streams)', 'gauge', { ...n, stat: 'p95' }, pool.streamOpenTime.p95 / 1000)
    out.add('x_connection_pool_bookkeeping_bytes', 'Estimated bytes of the pool\'s bookkeeping', 'gauge', n, pool.bookkeepingBytes)

    // pubsub peer discovery
    const discovery = discoveries.get(node)?.getMetrics()

    if (discovery != null) {
      for (const [outcome, value] of [['received', discovery.received], ['accepted', discovery.accepted], ['emitted', discovery.emitted], ['relayed', discovery.relayed], ['announced', discovery.announced], ['announce_failures', discovery.announceFailures]] as const) {
        out.add('x_pubsub_discovery_messages_total', 'Discovery messages by outcome', 'counter', { ...n, outcome }, value)
      }

      for (const [reason, value] of Object.entries(discovery.dropped)) {
        out.add('x_pubsub_discovery_dropped_total', 'Discovery messages dropped, by reason', 'counter', { ...n, reason }, value)
      }

      out.add('x_pubsub_discovery_received_bytes_total', 'Bytes of discovery messages received', 'counter', n, discovery.receivedBytes)
      out.add('x_pubsub_discovery_peers', 'Peers heard recently on the discovery topics', 'gauge', n, discovery.peers)
    }

    // universal connectivity: the names of its METRIC_NAMES under the default prefix
    const c = node.services.connectivity.getMetrics()
    const cn = (name: keyof typeof METRIC_NAMES): string => `x_connectivity_${METRIC_NAMES[name]}`

    for (const [mechanism, value] of Object.entries(c.discovery.byMechanism)) {
      out.add(cn('discoveredPeers'), 'Remembered peers by the mechanism that found them', 'gauge', { ...n, mechanism }, value)
    }

    out.add(cn('connections'), 'Open connections, direct and relayed', 'gauge', { ...n, kind: 'direct' }, c.connections.active.direct)
    out.add(cn('connections'), 'Open connections, direct and relayed', 'gauge', { ...n, kind: 'relayed' }, c.connections.active.relayed)

    for (const [path, value] of Object.entries(c.connections.byPath)) {
      out.add(cn('connectionsOpened'), 'Connections opened, by the path they took', 'counter', { ...n, path: path.replace('-', '_') }, value)
    }

    out.add(cn('connectionsClosed'), 'Connections closed', 'counter', n, c.connections.closed)
    out.add(cn('holePunches'), 'DCUtR exchanges settled, by outcome', 'counter', { ...n, outcome: 'success' }, c.holePunch.successes)
    out.add(cn('holePunches'), 'DCUtR exchanges settled, by outcome', 'counter', { ...n, outcome: 'failure' }, c.holePunch.failures)
    out.add(cn('reversals'), 'Direct connections relayed peers opened to us without a DCUtR exchange', 'counter', n, c.holePunch.reversals)
    out.add(cn('pendingUpgrades'), 'Relayed peers watched for an upgrade', 'gauge', n, c.holePunch.pending)
    for (const [outcome, value] of [['direct', c.dials.direct], ['relay', c.dials.relay], ['reversal', c.dials.reversal], ['hole_punch', c.dials.holePunch], ['failed', c.dials.failed]] as const) {
      out.add(cn('dials'), 'dialPeer calls by the path they ended on, and those that failed', 'counter', { ...n, outcome }, value)
    }

    for (const status of ['unknown', 'private', 'public'] as const) {
      out.add(cn('natStatus'), 'NAT status: 1 for the current one', 'gauge', { ...n, status }, c.nat.status === status ? 1 : 0)
    }

    out.add(cn('relayReservations'), 'Relays we hold a reservation on', 'gauge', n, c.relay.reservations.length)

    // message batching (names from the package's metric-names.ts)
    const b = node.services.batching.getMetrics()
    const bm = (key: Parameters<typeof metricName>[1]): string => metricName(BATCHING_PREFIX, key)
    out.add(bm('messages'), 'Batched messages', 'counter', { ...n, kind: 'sent' }, b.messagesSent)
    out.add(bm('messages'), 'Batched messages', 'counter', { ...n, kind: 'received' }, b.messagesReceived)
    for (const [kind, value] of [['sent', b.requestsSent], ['answered', b.requestsAnswered], ['failed', b.requestsFailed], ['timed_out', b.requestsTimedOut], ['lost', b.requestsLost], ['received', b.requestsReceived], ['late_responses', b.lateResponses]] as const) {
      out.add(bm('requests'), 'Batched requests', 'counter', { ...n, kind }, value)
    }
    for (const [kind, value] of [['sent', b.batchesSent], ['received', b.batchesReceived], ['compressed', b.compressedBatches]] as const) {
      out.add(bm('batches'), 'Batches', 'counter', { ...n, kind }, value)
    }
    for (const [kind, value] of [['messages_per_second', b.messagesPerSecond], ['batches_per_second', b.batchesPerSecond], ['mean_batch_size', b.meanBatchSize], ['peers', b.peers], ['inbound_streams', b.inboundStreams], ['pending_answer_bytes', b.pendingAnswerBytes]] as const) {
      out.add(bm('status'), 'Batching rates, mean batch size, peers, inbound streams and bytes of answers not yet sent', 'gauge', { ...n, kind }, value)
    }

    // bandwidth: its own Prometheus export
    out.merge(node.services.bandwidth.exportMetrics('prometheus'), i)

    // the demo's own workload
    const w = swarm.workload.stats[i]
    out.add('x_demo_requests_total', 'Echo requests of the demo workload by outcome (retried ones also count as ok or failed)', 'counter', { ...n, outcome: 'ok' }, w.ok)
    out.add('x_demo_requests_total', 'Echo requests of the demo workload by outcome (retried ones also count as ok or failed)', 'counter', { ...n, outcome: 'failed' }, w.failed)
    out.add('x_demo_requests_total', 'Echo requests of the demo workload by outcome (retried ones also count as ok or failed)', 'counter', { ...n, outcome: 'retried' }, w.retried)
    out.add('x_demo_metric_values_dropped_total', `Values given to a libp2p metrics group for a key past its ${MAX_GROUP_KEYS} keys, dropped`, 'counter', n, registries.get(node)?.droppedValues ?? 0)
  })

  // every other metric a node registered with libp2p metrics, as registered
  const rendered = out.names()

  for (const [i, node] of swarm.nodes.entries()) {
    for (const metric of registries.get(node)?.registered() ?? []) {
      if (!rendered.has(metric.name)) {
        await addRegistered(out, metric, i)
      }
    }
  }

  return out.toString()
}

/** A registered metric's samples, read now; a group's keys as the values of its label */
async function addRegistered (out: Exposition, metric: RegisteredMetric, node: number): Promise<void> {
  const value = await metric.read()
  out.declare(metric.name, metric.help, metric.type)

  if (typeof value === 'number') {
    out.add(metric.name, metric.help, metric.type, { node }, value)
    return
  }

  for (const [key, figure] of Object.entries(value)) {
    out.add(metric.name, metric.help, metric.type, { node, [metric.label ?? metric.name]: key }, figure)
  }
}
