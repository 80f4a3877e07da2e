/**
 * One JSON-able picture of the swarm, for the status table and the
 * dashboard's `/api/state`.
 */
import { discoveryView } from './views.ts'
import type { Swarm } from './swarm.ts'
import type { DiscoveryView } from './views.ts'

export interface ConnectionView {
  id: string
  /** The node at the other end */
  peer: number
  direction: 'inbound' | 'outbound'
  relayed: boolean
  proxied: boolean
  score?: number
  state?: string
  /** EWMA RTT, ms */
  rtt?: number
  streams: number
}

export interface NodeView {
  index: number
  peerId: string
  addrs: string[]
  roles: string[]
  nat: string
  /** The peers this node has discovered, each with the mechanisms that found it */
  discovery: DiscoveryView
  connections: ConnectionView[]
  pool: { peers: number, connections: number, streamsOpened: number, failovers: number, streamFailures: number }
  health: { averageScore: number, unhealthy: number, replacements: number, probes: number, probeFailures: number }
  requests: { ok: number, failed: number, retried: number }
  /** `@x/message-batching`: what this node sent */
  batching: { meanBatchSize: number, messagesPerSecond: number, batchesPerSecond: number, queued: number, compressedBatches: number }
  /** `@x/bandwidth`: per class, bytes/s over the last second each way and the queuing delay (EWMA and recent max, ms) */
  bandwidth: Record<string, { out: number, in: number, queueDelay: number, maxQueueDelay: number, openStreams: number }>
}

export interface SwarmView {
  now: number
  uptime: number
  nodes: NodeView[]
  fault?: { phase: string, cycles: number, server: number, client: number, proxyPort: number, proxiedConnections: number }
  requests: { ok: number, failed: number, retried: number }
  /** Batched messages and requests delivered, failed ones, bulk bytes sent on the fault link */
  traffic: { messages: number, requests: number, failed: number, bulkBytesSent: number }
  failures: Array<{ at: number, node: number, peer: string, error: string }>
}

export function snapshot (swarm: Swarm): SwarmView {
  const now = Date.now()
  const nodes = swarm.nodes.map((node, i): NodeView => {
    const reports = new Map<string, { score: number, state: string, rtt?: number }>()
    const peers = new Map(node.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))

    for (const peer of peers.values()) {
      for (const r of node.services.health.getConnectionHealth(peer)?.connections ?? []) {
        reports.set(r.connectionId, { score: r.score, state: r.state, rtt: r.rtt != null && r.rtt.samples > 0 ? r.rtt.ewma : undefined })
      }
    }

    const connections = node.getConnections().map((c): ConnectionView => {
      const r = reports.get(c.id)
      return {
        id: c.id,
        peer: swarm.indexOf(c.remotePeer.toString()),
        direction: c.direction,
        relayed: c.limits != null || c.remoteAddr.toString().includes('/p2p-circuit'),
        proxied: swarm.isProxied(i, c.id),
        score: r?.score,
        state: r?.state,
        rtt: r?.rtt,
        streams: c.streams.length
      }
    })

    const connectivity = node.services.connectivity.getMetrics()
    const pool = node.services.pool.getMetrics()
    const health = node.services.health.getNetworkHealthSummary()
    const roles: string[] = []

    if (i === 0) {
      roles.push('bootstrap', 'relay')
    }

    if (swarm.link?.server === i) {
      roles.push('behind fault proxy')
    }

    if (swarm.link?.client === i) {
      roles.push('dials through fault proxy')
    }

    if (swarm.relayed?.target === i) {
      roles.push('reachable via relay')
    }

    const stats = swarm.workload.stats[i]
    const batching = node.services.batching.getMetrics()
    const classes = node.services.bandwidth.getMetrics().classes

    return {
      index: i,
      peerId: node.peerId.toString(),
      addrs: node.getMultiaddrs().map(ma => ma.toString()),
      roles,
      nat: connectivity.nat.status,
      discovery: discoveryView(node.services.connectivity.getDiscoveredPeers(), peer => swarm.indexOf(peer)),
      connections,
      pool: { peers: pool.peers, connections: pool.connections, streamsOpened: pool.streamsOpened, failovers: pool.failovers, streamFailures: pool.streamFailures },
      health: { averageScore: health.averageScore, unhealthy: health.unhealthy, replacements: health.replacements, probes: health.probes, probeFailures: health.probeFailures },
      requests: { ok: stats.ok, failed: stats.failed, retried: stats.retried },
      batching: {
        meanBatchSize: batching.meanBatchSize,
        messagesPerSecond: batching.messagesPerSecond,
        batchesPerSecond: batching.batchesPerSecond,
        queued: batching.queueLength.high + batching.queueLength.normal + batching.queueLength.low,
        compressedBatches: batching.compressedBatches
      },
      bandwidth: Object.fromEntries(Object.entries(classes).map(([name, c]) => [name, {
        out: c.out.rate1s,
        in: c.in.rate1s,
        queueDelay: c.queue.avgDelay,
        maxQueueDelay: c.queue.maxDelay,
        openStreams: c.openStreams
      }]))
    }
  })

  const link = swarm.link
  const cycle = swarm.faultCycle

  return {
    now,
    uptime: now - swarm.startedAt,
    nodes,
    fault: link == null || cycle == null
      ? undefined
      : { phase: cycle.phase, cycles: cycle.cycles, server: link.server, client: link.client, proxyPort: link.proxy.port, proxiedConnections: link.proxy.connections.length },
    requests: swarm.workload.totals(),
    traffic: swarm.traffic.totals(),
    failures: swarm.workload.stats.flatMap((s, node) => s.failures.map(f => ({ ...f, node }))).sort((a, b) => a.at - b.at).slice(-20)
  }
}
