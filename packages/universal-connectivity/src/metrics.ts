/**
 * The `getMetrics()` snapshot, and its registration with libp2p's metrics
 * (Prometheus or any `Metrics` implementation) as calculated metric groups,
 * computed only when scraped.
 */
import { METRIC_PREFIX } from './constants.ts'
import type { ConnectionStats } from './connection-tracker.ts'
import type { HolePunchStats } from './dcutr-tracker.ts'
import type { Metrics } from '@libp2p/interface'
import type { NatStatus, DiscoveryMechanism } from '@x/interface'

/** What `connectivity.getMetrics()` returns */
export interface ConnectivityMetrics {
  discovery: {
    /** Distinct peers remembered (at most `maxDiscoveredPeers`) */
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

const NAT_VALUE: Record<NatStatus, number> = { unknown: 0, private: 1, public: 2 }

/** Registers the snapshot's numbers as metric groups */
export function registerMetrics (metrics: Metrics, snapshot: () => ConnectivityMetrics): void {
  metrics.registerMetricGroup(`${METRIC_PREFIX}_discovered_peers`, {
    help: 'Discovered peers by the mechanism that found them',
    label: 'mechanism',
    calculate: () => ({ ...snapshot().discovery.byMechanism })
  })

  metrics.registerMetricGroup(`${METRIC_PREFIX}_connections`, {
    help: 'Connections established by path, active, closed and failed dials',
    label: 'kind',
    calculate: () => {
      const { connections } = snapshot()
      return {
        established_direct: connections.byPath.direct,
        established_relay: connections.byPath.relay,
        established_hole_punch: connections.byPath['hole-punch'],
        active_direct: connections.active.direct,
        active_relayed: connections.active.relayed,
        closed: connections.closed,
        failed: snapshot().dials.failed
      }
    }
  })

  metrics.registerMetricGroup(`${METRIC_PREFIX}_hole_punch`, {
    help: 'DCUtR upgrades of relayed connections',
    label: 'outcome',
    calculate: () => {
      const { holePunch } = snapshot()
      return { attempts: holePunch.attempts, successes: holePunch.successes, failures: holePunch.failures, pending: holePunch.pending }
    }
  })

  metrics.registerMetricGroup(`${METRIC_PREFIX}_nat`, {
    help: 'NAT status (0 unknown, 1 private, 2 public) and relay reservations held',
    label: 'kind',
    calculate: () => {
      const { nat, relay } = snapshot()
      return { status: NAT_VALUE[nat.status], reservations: relay.reservations.length }
    }
  })
}
