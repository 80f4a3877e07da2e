/**
 * The health service: probes every open connection on a jittered schedule
 * (bounded concurrency), keeps a `ConnectionRecord` per connection, scores
 * it, reports material changes as `connection:health` events, and repairs
 * connections that stay unhealthy.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { CONNECTION_HEALTH_CAPABILITY, CONNECTION_HEALTH_EVENT } from '@x/interface'
import { tapBytes } from './bytes-tap.ts'
import { PEER_PROBE_LEASE, REPORT_RTT_MS, REPORT_RTT_RATIO, REPORT_STEP, SUMMARY_WORST } from './constants.ts'
import { prometheusText } from './export.ts'
import { registerHealthMetrics } from './libp2p-metrics.ts'
import { resolveOptions } from './options.ts'
import { ProbeQueue, pingConnection } from './prober.ts'
import { ConnectionRecord } from './record.ts'
import { Repairer } from './repair.ts'
import { score, stabilityComponent } from './score.ts'
import { tapStreams, untapStreams } from './stream-tap.ts'
import type { ConnectionHealth, ConnectionHealthComponents, ConnectionHealthInit, ConnectionHealthReport, NetworkHealthSummary, PeerHealth } from './index.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { Connection, Logger, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionHealthSnapshot, PoolStreamOutcome } from '@x/interface'

export class HealthService implements ConnectionHealth, Startable {
  public readonly [Symbol.toStringTag] = '@x/health'
  public readonly [serviceCapabilities]: string[] = [CONNECTION_HEALTH_CAPABILITY]

  readonly components: ConnectionHealthComponents
  readonly options: ResolvedHealthOptions
  readonly log: Logger
  readonly records = new Map<string, ConnectionRecord>()
  private readonly untaps = new Map<string, () => void>()
  private readonly queue: ProbeQueue
  private readonly repairer: Repairer
  private timer?: ReturnType<typeof setTimeout>
  private shutdown = new AbortController()
  private started = false
  private sweeping = false
  /** Probes in flight (at most `maxConcurrentProbes`), aborted by stop() */
  private readonly inflight = new Set<AbortController>()
  /** Sweeps skipped because the previous one was still running */
  skippedSweeps = 0
  probes = 0
  probeFailures = 0
  replacements = 0

  constructor (components: ConnectionHealthComponents, init: ConnectionHealthInit = {}) {
    this.components = components
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('x:health')
    this.queue = new ProbeQueue(this.options.maxConcurrentProbes, Math.min(PEER_PROBE_LEASE, this.options.pingTimeout / 2))
    this.repairer = new Repairer(this)
    this.onOpen = this.onOpen.bind(this)
    this.onClose = this.onClose.bind(this)
    this.onPoolStream = this.onPoolStream.bind(this)
    this.registerMetrics()
  }

  isStarted (): boolean {
    return this.started
  }

  /** Aborted when the service stops */
  get signal (): AbortSignal {
    return this.shutdown.signal
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.shutdown = new AbortController()
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.components.events.addEventListener('pool:stream', this.onPoolStream)
    this.schedule()
  }

  afterStart (): void {
    for (const conn of this.components.connectionManager.getConnections()) {
      this.track(conn)
    }
  }

  stop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.shutdown.abort()

    for (const probe of this.inflight) {
      probe.abort(this.shutdown.signal.reason)
    }

    this.inflight.clear()
    clearTimeout(this.timer)
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.components.events.removeEventListener('pool:stream', this.onPoolStream)

    for (const untap of this.untaps.values()) {
      untap()
    }

    for (const record of this.records.values()) {
      untapStreams(record.connection)
    }

    this.untaps.clear()
    this.records.clear()
  }

  /** Probes every open connection once; resolves when all probes ended */
  async checkAll (): Promise<void> {
    const now = Date.now()
    const open = interleavePeers(this.components.connectionManager.getConnections().filter(conn => conn.status === 'open'))

    await Promise.all(open.map(async conn => {
      const record = this.track(conn)
      await this.queue.run(record.peer.toString(), async () => this.probe(record))
      this.evaluate(record, Date.now())
    }))

    if (open.length > 0) {
      this.log.trace('checked %d connections in %dms', open.length, Date.now() - now)
    }
  }

  /**
   * Checks run at a fixed rate (each timer is set when the previous one
   * fires, not when its sweep ends), so a connection that goes silent is
   * probed again one interval after its first failed probe. A sweep still
   * running when the next is due is not doubled: the tick is skipped.
   */
  private schedule (): void {
    const { checkInterval, checkJitter } = this.options
    const delay = checkInterval * (1 + checkJitter * (2 * Math.random() - 1))

    this.timer = setTimeout(() => {
      if (!this.started) {
        return
      }

      this.schedule()

      if (this.sweeping) {
        this.skippedSweeps++
        return
      }

      this.sweeping = true
      this.checkAll()
        .catch(err => { this.log.error('health check failed - %e', err) })
        .finally(() => { this.sweeping = false })
    }, delay)
  }

  private track (conn: Connection): ConnectionRecord {
    let record = this.records.get(conn.id)

    if (record == null) {
      record = new ConnectionRecord(conn, Date.now())
      this.records.set(conn.id, record)
      this.untaps.set(conn.id, tapBytes(conn, record.bytes))
      record.observesStreams = tapStreams(conn, record)
    }

    return record
  }

  private async probe (record: ConnectionRecord): Promise<void> {
    if (record.connection.status !== 'open' || this.shutdown.signal.aborted) {
      return
    }

    this.probes++
    const controller = new AbortController()
    this.inflight.add(controller)

    try {
      const rtt = await pingConnection(record.connection, this.options.pingTimeout, controller)
      record.probeSucceeded(rtt)
      // what libp2p's own monitor would set, for code that reads conn.rtt
      record.connection.rtt = record.rtt.ewma
    } catch (err: any) {
      if (this.shutdown.signal.aborted) {
        return
      }

      if (err?.name === 'PingUnsupportedError') {
        // alive: the negotiation round trip is the measurement
        record.probeSucceeded(err.negotiationMs)
        return
      }

      if (err?.name === 'TooManyOutboundProtocolStreamsError') {
        // another ping (libp2p's connection monitor) is in flight on this
        // connection: not a failure of the connection
        this.probes--
        record.probesSkipped++
        return
      }

      this.probeFailures++
      record.probeFailed(err?.name ?? 'Error', Date.now())
      this.log('probe of %s to %p failed - %e', record.connection.id, record.peer, err)
    } finally {
      this.inflight.delete(controller)
    }
  }

  /** Scores a record, moves its state, reports and repairs */
  evaluate (record: ConnectionRecord, now: number): void {
    if (!this.records.has(record.connection.id) || record.connection.status !== 'open') {
      return
    }

    const parts = score({
      // the median of the last three probes: a lasting slowdown counts after
      // two probes, a single spike never
      rtt: record.rtt.samples > 0 ? record.rtt.recentMedian(3) : undefined,
      successRate: record.successRate,
      recentFailures: record.recentFailures(now),
      consecutiveFailures: record.consecutiveFailures
    }, this.options, this.options.weights)
    record.score = parts.score

    if (parts.score < this.options.minHealthThreshold) {
      record.unhealthyChecks++

      if (record.state === 'healthy') {
        record.state = 'degraded'
        record.streamsOkSinceDegraded = 0
        record.event('degraded', now)
      }

      if (record.unhealthyChecks >= this.options.unhealthyChecksBeforeReplace) {
        record.state = 'unhealthy'
      }
    } else {
      if (record.state !== 'healthy') {
        record.event('recovered', now)
      }

      record.unhealthyChecks = 0
      record.state = 'healthy'
    }

    this.report(record, now)

    if (record.state === 'unhealthy' && this.options.replaceUnhealthy) {
      this.repairer.repair(record).catch(err => { this.log.error('repair of %s failed - %e', record.connection.id, err) })
    }
  }

  private report (record: ConnectionRecord, now: number): void {
    const rtt = record.rtt.samples > 0 ? record.rtt.ewma : -1
    const rttMoved = rtt >= 0 && (record.lastReportedRtt < 0 || Math.abs(rtt - record.lastReportedRtt) >= Math.max(REPORT_RTT_MS, record.lastReportedRtt * REPORT_RTT_RATIO))
    const changed = record.state !== record.lastReportedState || Math.abs(record.score - record.lastReportedScore) >= REPORT_STEP || rttMoved

    if (!changed) {
      return
    }

    record.lastReportedScore = record.score
    record.lastReportedState = record.state
    record.lastReportedRtt = rtt
    this.components.events.safeDispatchEvent(CONNECTION_HEALTH_EVENT, { detail: this.snapshot(record, now) })
  }

  snapshot (record: ConnectionRecord, now: number): ConnectionHealthSnapshot {
    return {
      peer: record.peer,
      connectionId: record.connection.id,
      score: record.score,
      state: record.state,
      rtt: record.rtt.summary(),
      successRate: record.successRate,
      stability: stabilityComponent(record.recentFailures(now), this.options.maxFailedStreams),
      limited: record.connection.limits != null,
      adaptiveTimeout: this.getTimeout(record.peer),
      timestamp: now
    }
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    this.track(evt.detail)
  }

  private onClose (evt: CustomEvent<Connection>): void {
    const record = this.records.get(evt.detail.id)

    if (record == null) {
      return
    }

    record.state = 'closed'
    record.event('closed', Date.now())
    this.report(record, Date.now())
    this.records.delete(evt.detail.id)
    this.untaps.get(evt.detail.id)?.()
    this.untaps.delete(evt.detail.id)
    untapStreams(record.connection)
    this.repairer.onClosed(record)
  }

  private onPoolStream (evt: CustomEvent<PoolStreamOutcome>): void {
    const record = this.records.get(evt.detail.connectionId)

    // the stream tap already saw this open on the connection itself
    if (record != null && !record.observesStreams) {
      record.streamOutcome(evt.detail.outcome === 'opened', evt.detail.error, Date.now())
    }
  }

  getTimeout (peer: PeerId): number {
    let best: number | undefined

    // the peer's connections from the connection manager's per-peer map, not
    // a scan of every record: reports call this, so a scan made a sweep
    // that reports many connections quadratic
    for (const conn of this.components.connectionManager.getConnections(peer)) {
      const record = this.records.get(conn.id)

      if (record != null && record.peer.equals(peer) && record.rtt.samples > 0) {
        const timeout = record.rtt.timeout(this.options.minTimeout, this.options.maxTimeout, this.options.maxTimeout)
        best = best == null ? timeout : Math.min(best, timeout)
      }
    }

    return best ?? this.options.maxTimeout
  }

  private report0 (record: ConnectionRecord, now: number): ConnectionHealthReport {
    return {
      ...this.snapshot(record, now),
      age: now - record.opened,
      probes: record.probes,
      probeFailures: record.probeFailures,
      probesSkipped: record.probesSkipped,
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

  getConnectionHealth (peer: PeerId): PeerHealth | undefined {
    const now = Date.now()
    const connections = [...this.records.values()].filter(r => r.peer.equals(peer)).map(r => this.report0(r, now))

    if (connections.length === 0) {
      return undefined
    }

    return {
      peer,
      score: Math.max(...connections.map(c => c.score)),
      connections,
      adaptiveTimeout: this.getTimeout(peer)
    }
  }

  getNetworkHealthSummary (): NetworkHealthSummary {
    const records = [...this.records.values()]
    const peers = new Set(records.map(r => r.peer.toString()))
    const sorted = [...records].sort((a, b) => a.score - b.score)

    return {
      peers: peers.size,
      connections: records.length,
      averageScore: records.length === 0 ? 1 : records.reduce((sum, r) => sum + r.score, 0) / records.length,
      unhealthy: records.filter(r => r.state !== 'healthy').length,
      worst: sorted.slice(0, SUMMARY_WORST).map(r => ({ peer: r.peer.toString(), connectionId: r.connection.id, score: r.score, state: r.state })),
      probes: this.probes,
      probeFailures: this.probeFailures,
      replacements: this.replacements
    }
  }

  exportHealthMetrics (format: 'json' | 'prometheus'): string {
    const now = Date.now()
    const summary = this.getNetworkHealthSummary()

    if (format === 'prometheus') {
      return prometheusText([...this.records.values()], summary, now)
    }

    return JSON.stringify({
      summary,
      connections: [...this.records.values()].map(r => ({ ...this.report0(r, now), peer: r.peer.toString() }))
    })
  }

  private registerMetrics (): void {
    if (this.components.metrics != null) {
      registerHealthMetrics(this.components.metrics, this)
    }
  }
}

/**
 * The first connection of every peer, then the second of every peer, ...:
 * with one probe per peer at a time, a sweep in this order keeps
 * `maxConcurrentProbes` busy instead of queueing behind one peer
 */
function interleavePeers (connections: Connection[]): Connection[] {
  const byPeer = new Map<string, Connection[]>()

  for (const conn of connections) {
    const key = conn.remotePeer.toString()
    const list = byPeer.get(key)

    if (list == null) {
      byPeer.set(key, [conn])
    } else {
      list.push(conn)
    }
  }

  if (byPeer.size === connections.length) {
    return connections
  }

  const lists = [...byPeer.values()]
  const out: Connection[] = []

  for (let i = 0; out.length < connections.length; i++) {
    for (const list of lists) {
      if (i < list.length) {
        out.push(list[i])
      }
    }
  }

  return out
}
