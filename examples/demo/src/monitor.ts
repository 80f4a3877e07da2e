/**
 * What the dashboard shows over time, bounded: per-connection RTT and
 * health score samples, a timeline of health transitions and faults, and
 * the pool's stream placement per connection.
 *
 * Bounds: `MAX_POINTS` samples per series, `MAX_SERIES` series (the series
 * of closed connections are dropped oldest first), `MAX_EVENTS` events
 * (health events dropped before fault events, fault events beyond
 * `MAX_FAULT_EVENTS` dropped oldest first),
 * `MAX_STREAM_COUNTERS` connections with stream counts.
 */
import { CONNECTION_HEALTH_EVENT, POOL_STREAM_EVENT } from '@x/interface'
import type { DemoLibp2p } from './node.ts'
import type { ConnectionHealthSnapshot, ConnectionHealthState, PoolStreamOutcome } from '@x/interface'

export const MAX_POINTS = 180
export const MAX_SERIES = 200
export const MAX_EVENTS = 400
/** Fault events kept before the oldest of them go (the rest of `MAX_EVENTS` is for health events) */
export const MAX_FAULT_EVENTS = MAX_EVENTS / 2
export const MAX_STREAM_COUNTERS = 400

export type TimelineKind = 'degraded' | 'unhealthy' | 'replaced' | 'recovered' | 'closed' | 'fault' | 'info'

export interface TimelineEvent {
  at: number
  kind: TimelineKind
  node?: number
  peer?: number
  connectionId?: string
  detail: string
}

export interface SeriesPoint { t: number, rtt: number | null, score: number }

export interface ConnectionSeries {
  key: string
  node: number
  peer: number
  connectionId: string
  open: boolean
  /** The connection runs through the fault proxy */
  proxied: boolean
  points: SeriesPoint[]
}

export interface StreamCounter {
  node: number
  peer: number
  connectionId: string
  opened: number
  failed: number
}

export class Monitor {
  readonly events: TimelineEvent[] = []
  readonly series = new Map<string, ConnectionSeries>()
  readonly streams = new Map<string, StreamCounter>()
  private readonly nodes: DemoLibp2p[]
  private readonly indexOf: (peer: string) => number
  private readonly isProxied: (node: number, connectionId: string) => boolean
  private readonly states = new Map<string, ConnectionHealthState>()
  private readonly detach: Array<() => void> = []
  private timer?: ReturnType<typeof setInterval>

  constructor (nodes: DemoLibp2p[], indexOf: (peer: string) => number, isProxied: (node: number, connectionId: string) => boolean) {
    this.nodes = nodes
    this.indexOf = indexOf
    this.isProxied = isProxied
  }

  start (sampleInterval: number): void {
    this.nodes.forEach((node, i) => {
      const onHealth = (evt: CustomEvent<ConnectionHealthSnapshot>): void => { this.onHealth(i, evt.detail) }
      const onStream = (evt: CustomEvent<PoolStreamOutcome>): void => { this.onStream(i, evt.detail) }
      node.addEventListener(CONNECTION_HEALTH_EVENT, onHealth)
      node.addEventListener(POOL_STREAM_EVENT, onStream)
      this.detach.push(() => {
        node.removeEventListener(CONNECTION_HEALTH_EVENT, onHealth)
        node.removeEventListener(POOL_STREAM_EVENT, onStream)
      })
    })
    this.timer = setInterval(() => { this.sample() }, sampleInterval)
  }

  stop (): void {
    clearInterval(this.timer)
    this.detach.forEach(fn => { fn() })
    this.detach.length = 0
  }

  add (event: TimelineEvent): void {
    this.events.push(event)

    if (this.events.length > MAX_EVENTS) {
      // health events can come by the hundred when a loaded machine slows the
      // probes; the few fault events (one per phase) go last, but never take
      // more than `MAX_FAULT_EVENTS` places (a demo left running for hours
      // would otherwise fill the timeline with faults and drop every new health event)
      const faults = this.events.reduce((n, e) => n + (e.kind === 'fault' ? 1 : 0), 0)
      const oldest = faults > MAX_FAULT_EVENTS
        ? this.events.findIndex(e => e.kind === 'fault')
        : this.events.findIndex(e => e.kind !== 'fault')
      this.events.splice(oldest < 0 ? 0 : oldest, 1)
    }
  }

  count (kind: TimelineKind, filter: (e: TimelineEvent) => boolean = () => true): number {
    return this.events.filter(e => e.kind === kind && filter(e)).length
  }

  private onHealth (node: number, snap: ConnectionHealthSnapshot): void {
    const key = `${node}/${snap.connectionId}`
    const previous = this.states.get(key) ?? 'healthy'
    this.states.set(key, snap.state)

    if (previous === snap.state) {
      return
    }

    const peer = this.indexOf(snap.peer.toString())
    const base = { at: snap.timestamp, node, peer, connectionId: snap.connectionId }
    const where = `n${node} -> n${peer} ${snap.connectionId}${this.isProxied(node, snap.connectionId) ? ' (proxied)' : ''}`

    if (snap.state === 'degraded' && previous === 'healthy') {
      this.add({ ...base, kind: 'degraded', detail: `${where}: score ${snap.score.toFixed(2)}, rtt ${snap.rtt?.ewma.toFixed(0) ?? '-'} ms` })
    } else if (snap.state === 'unhealthy') {
      this.add({ ...base, kind: 'unhealthy', detail: `${where}: replacing (score ${snap.score.toFixed(2)})` })
    } else if (snap.state === 'healthy') {
      this.add({ ...base, kind: 'recovered', detail: `${where}: score ${snap.score.toFixed(2)}` })
    } else if (snap.state === 'closed') {
      this.states.delete(key)
      this.add({ ...base, kind: previous === 'unhealthy' || previous === 'degraded' ? 'replaced' : 'closed', detail: `${where}: closed after being ${previous}` })
    }
  }

  private onStream (node: number, outcome: PoolStreamOutcome): void {
    const key = `${node}/${outcome.connectionId}`
    let counter = this.streams.get(key)

    if (counter == null) {
      if (this.streams.size >= MAX_STREAM_COUNTERS) {
        this.streams.delete(this.streams.keys().next().value as string)
      }

      counter = { node, peer: this.indexOf(outcome.peer.toString()), connectionId: outcome.connectionId, opened: 0, failed: 0 }
      this.streams.set(key, counter)
    }

    if (outcome.outcome === 'opened') {
      counter.opened++
    } else {
      counter.failed++
    }
  }

  /** One RTT and score sample for every open connection */
  sample (): void {
    const now = Date.now()
    const seen = new Set<string>()

    this.nodes.forEach((node, i) => {
      const peers = new Map(node.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))

      for (const peer of peers.values()) {
        const health = node.services.health.getConnectionHealth(peer)

        for (const report of health?.connections ?? []) {
          const key = `${i}/${report.connectionId}`
          seen.add(key)
          let series = this.series.get(key)

          if (series == null) {
            series = { key, node: i, peer: this.indexOf(peer.toString()), connectionId: report.connectionId, open: true, proxied: this.isProxied(i, report.connectionId), points: [] }
            this.series.set(key, series)
          }

          series.points.push({ t: now, rtt: report.rtt != null && report.rtt.samples > 0 ? report.rtt.ewma : null, score: report.score })

          if (series.points.length > MAX_POINTS) {
            series.points.shift()
          }
        }
      }
    })

    for (const series of this.series.values()) {
      series.open = seen.has(series.key)
    }

    // drop the oldest closed series first, then the oldest of all
    while (this.series.size > MAX_SERIES) {
      const victim = [...this.series.values()].find(s => !s.open) ?? this.series.values().next().value
      this.series.delete((victim as ConnectionSeries).key)
    }
  }
}
