/**
 * The `getMetrics()` snapshot, and its registration with libp2p's `metrics`
 * component. This file is the one place that names the package's metrics.
 *
 * Every registered metric is computed from one snapshot per scrape: the
 * first metric a scrape reads takes it, the others reuse it until the scrape
 * is over (the next macrotask).
 */
import type { ConnectionStats } from './connection-tracker.ts'
import type { HolePunchStats } from './dcutr-tracker.ts'
import type { Metrics } from '@libp2p/interface'
import type { NatStatus, DiscoveryMechanism } from '@x/interface'

/** What `connectivity.getMetrics()` returns */
export interface ConnectivityMetrics {
  discovery: {
    /** Distinct peers remembered (at most `maxPeers`) */
    peers: number
    /** Remembered peers each mechanism found (a peer counts once per mechanism) */
    byMechanism: Record<DiscoveryMechanism, number>
    /** Discovery reports heard since start, including repeats */
    events: number
  }
  connections: ConnectionStats
  nat: {
    status: NatStatus
    reason: string
    /** When the status last changed, ms since epoch */
    since: number
    verifiedPublicAddrs: string[]
  }
  relay: {
    /** Relays we hold a reservation on */
    reservations: string[]
  }
  holePunch: HolePunchStats
  /** Dials through `dialPeer`, by the path they ended on, and those that failed */
  dials: {
    total: number
    direct: number
    relay: number
    reversal: number
    holePunch: number
    failed: number
  }
  /** When anything above last changed, ms since epoch */
  last_updated: number
}

/**
 * Metric names after the prefix (`x_connectivity_` unless `metricsPrefix`
 * says otherwise). Counters end in `_total`, and only counters do.
 */
export const METRIC_NAMES = {
  /** gauge group by mechanism: remembered peers each mechanism found */
  discoveredPeers: 'discovered_peers',
  /** counter: discovery reports heard, repeats included */
  discoveryEvents: 'discovery_events_total',
  /** gauge group by kind (direct, relayed): open connections */
  connections: 'connections',
  /** counter group by path (direct, relay, reversal, hole_punch): connections opened */
  connectionsOpened: 'connections_opened_total',
  /** counter: connections closed */
  connectionsClosed: 'connections_closed_total',
  /** counter group by outcome (success, failure): DCUtR exchanges settled */
  holePunches: 'hole_punches_total',
  /** counter: direct connections a relayed peer opened to us without DCUtR */
  reversals: 'reversals_total',
  /** gauge: relayed peers watched for an upgrade */
  pendingUpgrades: 'pending_upgrades',
  /** counter group by outcome (direct, relay, reversal, hole_punch, failed): dialPeer calls */
  dials: 'dials_total',
  /** gauge group by status (unknown, private, public): 1 for the current status */
  natStatus: 'nat_status',
  /** gauge: relays we hold a reservation on */
  relayReservations: 'relay_reservations'
} as const

/** A valid Prometheus metric name prefix */
export const METRICS_PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/** One snapshot per scrape: reused until the current macrotask is over */
function perScrape (snapshot: () => ConnectivityMetrics): () => ConnectivityMetrics {
  let cached: ConnectivityMetrics | undefined

  return () => {
    if (cached == null) {
      cached = snapshot()
      setTimeout(() => { cached = undefined }, 0).unref?.()
    }

    return cached
  }
}

/** Registers the snapshot's numbers with libp2p's metrics */
export function registerMetrics (metrics: Metrics, prefix: string, snapshot: () => ConnectivityMetrics): void {
  const get = perScrape(snapshot)
  const n = (name: keyof typeof METRIC_NAMES): string => `${prefix}${METRIC_NAMES[name]}`

  metrics.registerMetricGroup(n('discoveredPeers'), {
    help: 'Remembered peers by the mechanism that found them',
    label: 'mechanism',
    calculate: () => ({ ...get().discovery.byMechanism })
  })
  metrics.registerCounter(n('discoveryEvents'), {
    help: 'Discovery reports heard, repeats included',
    calculate: () => get().discovery.events
  })
  metrics.registerMetricGroup(n('connections'), {
    help: 'Open connections, direct and relayed',
    label: 'kind',
    calculate: () => {
      const { active } = get().connections
      return { direct: active.direct, relayed: active.relayed }
    }
  })
  metrics.registerCounterGroup(n('connectionsOpened'), {
    help: 'Connections opened, by the path they took',
    label: 'path',
    calculate: () => {
      const { byPath } = get().connections
      return { direct: byPath.direct, relay: byPath.relay, reversal: byPath.reversal, hole_punch: byPath['hole-punch'] }
    }
  })
  metrics.registerCounter(n('connectionsClosed'), {
    help: 'Connections closed',
    calculate: () => get().connections.closed
  })
  metrics.registerCounterGroup(n('holePunches'), {
    help: 'DCUtR exchanges settled, by outcome',
    label: 'outcome',
    calculate: () => {
      const { holePunch } = get()
      return { success: holePunch.successes, failure: holePunch.failures }
    }
  })
  metrics.registerCounter(n('reversals'), {
    help: 'Direct connections relayed peers opened to us without a DCUtR exchange',
    calculate: () => get().holePunch.reversals
  })
  metrics.registerMetric(n('pendingUpgrades'), {
    help: 'Relayed peers watched for an upgrade',
    calculate: () => get().holePunch.pending
  })
  metrics.registerCounterGroup(n('dials'), {
    help: 'dialPeer calls by the path they ended on, and those that failed',
    label: 'outcome',
    calculate: () => {
      const { dials } = get()
      return { direct: dials.direct, relay: dials.relay, reversal: dials.reversal, hole_punch: dials.holePunch, failed: dials.failed }
    }
  })
  metrics.registerMetricGroup(n('natStatus'), {
    help: 'NAT status: 1 for the current one',
    label: 'status',
    calculate: () => {
      const { status } = get().nat
      return { unknown: status === 'unknown' ? 1 : 0, private: status === 'private' ? 1 : 0, public: status === 'public' ? 1 : 0 }
    }
  })
  metrics.registerMetric(n('relayReservations'), {
    help: 'Relays we hold a reservation on',
    calculate: () => get().relay.reservations.length
  })
}
