/**
 * The health service: keeps a `ConnectionRecord` per open connection (with
 * its byte and stream taps), and wires the sweep (when to probe), the state
 * (score, report) and repair to the libp2p events.
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { CONNECTION_HEALTH_CAPABILITY } from '@x/interface'
import { tapBytes } from './bytes-tap.ts'
import { registerHealthMetrics } from './libp2p-metrics.ts'
import { metricNames } from './metric-names.ts'
import { resolveOptions } from './options.ts'
import { exportMetrics, peerHealth, summary } from './queries.ts'
import { ConnectionRecord } from './record.ts'
import { Repairer } from './repair.ts'
import { evaluate, report, snapshot } from './state.ts'
import { tapStreams, untapStreams } from './stream-tap.ts'
import { Sweep } from './sweep.ts'
import type { ConnectionHealth, ConnectionHealthComponents, ConnectionHealthInit, NetworkHealthSummary, PeerHealth } from './index.ts'
import type { HealthMetricNames } from './metric-names.ts'
import type { ResolvedHealthOptions } from './options.ts'
import type { ProbeOutcome } from './prober.ts'
import type { Connection, Libp2pEvents, Logger, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ConnectionHealthSnapshot, PoolStreamOutcome } from '@x/interface'

export class HealthService implements ConnectionHealth, Startable {
  public readonly [Symbol.toStringTag] = '@x/health'
  public readonly [serviceCapabilities]: string[] = [CONNECTION_HEALTH_CAPABILITY]
  /**
   * None: probes need no local service (the muxer answers PING frames, and
   * a ping stream needs the remote's ping handler, not ours)
   */
  public readonly [serviceDependencies]: string[] = []

  readonly options: ResolvedHealthOptions
  readonly log: Logger
  readonly metricNames: HealthMetricNames
  readonly connectionManager: ConnectionManager
  readonly peerStore: PeerStore
  readonly events: TypedEventTarget<Libp2pEvents>
  /**
   * One record per open connection, by connection id
   *
   * @internal
   */
  readonly records = new Map<string, ConnectionRecord>()
  readonly counters = { probes: 0, probeFailures: 0, probesSkipped: 0, probesStalled: 0, replacements: 0, futileReplacements: 0 }
  private readonly untaps = new Map<string, () => void>()
  private readonly sweep: Sweep
  private readonly repairer: Repairer
  private shutdown = new AbortController()
  private started = false

  constructor (components: ConnectionHealthComponents, init: ConnectionHealthInit = {}) {
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('x:health')
    this.metricNames = metricNames(this.options.metricsPrefix)
    this.connectionManager = components.connectionManager
    this.peerStore = components.peerStore
    this.events = components.events
    this.sweep = new Sweep(this)
    this.repairer = new Repairer(this)
    this.onOpen = this.onOpen.bind(this)
    this.onClose = this.onClose.bind(this)
    this.onPoolStream = this.onPoolStream.bind(this)

    if (components.metrics != null) {
      registerHealthMetrics(components.metrics, this, this.metricNames)
    }
  }

  isStarted (): boolean {
    return this.started
  }

  /** Aborted when the service stops */
  get signal (): AbortSignal {
    return this.shutdown.signal
  }

  /** @internal */
  get replacements (): number {
    return this.counters.replacements
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.shutdown = new AbortController()
    this.events.addEventListener('connection:open', this.onOpen)
    this.events.addEventListener('connection:close', this.onClose)
    this.events.addEventListener('pool:stream', this.onPoolStream)
    this.sweep.start()
  }

  afterStart (): void {
    for (const conn of this.connectionManager.getConnections()) {
      this.track(conn)
    }
  }

  stop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.shutdown.abort()
    this.sweep.stop()
    this.repairer.stop()
    this.events.removeEventListener('connection:open', this.onOpen)
    this.events.removeEventListener('connection:close', this.onClose)
    this.events.removeEventListener('pool:stream', this.onPoolStream)

    for (const record of this.records.values()) {
      this.untrack(record)
    }
  }

  async checkAll (): Promise<void> {
    if (this.started) {
      await this.sweep.checkAll()
    }
  }

  /**
   * Open connections, for the sweep
   *
   * @internal
   */
  connections (): Connection[] {
    return this.connectionManager.getConnections()
  }

  /**
   * The record of an open connection, created (with its taps) if new
   *
   * @internal
   */
  track (conn: Connection): ConnectionRecord {
    let record = this.records.get(conn.id)

    if (record == null) {
      record = new ConnectionRecord(conn, Date.now())
      this.records.set(conn.id, record)
      this.untaps.set(conn.id, tapBytes(conn, record.bytes))
      record.observesStreams = tapStreams(conn, record)
    }

    return record
  }

  /** @internal */
  tracks (record: ConnectionRecord): boolean {
    return this.records.get(record.connection.id) === record
  }

  private untrack (record: ConnectionRecord): void {
    const id = record.connection.id
    this.records.delete(id)
    this.untaps.get(id)?.()
    this.untaps.delete(id)
    untapStreams(record.connection)
  }

  /**
   * A probe ended: only an answer or a failure is a check
   *
   * @internal
   */
  probed (record: ConnectionRecord, outcome: ProbeOutcome): void {
    const now = Date.now()

    switch (outcome.result) {
      case 'ok':
        this.counters.probes++
        record.probeSucceeded(outcome.rtt, outcome.probe, outcome.stalled)
        // what libp2p's own monitor would set, for code that reads conn.rtt
        record.connection.rtt = record.rtt.ewma
        break
      case 'failed':
        this.counters.probes++
        this.counters.probeFailures++
        record.probeFailed(outcome.error, now)
        this.log('probe of %s to %p failed - %s', record.connection.id, record.peer, outcome.error)
        break
      case 'skipped':
        this.counters.probesSkipped++
        record.probesSkipped++
        return
      case 'stalled':
        this.counters.probesStalled++
        record.probesStalled++
        this.log('probe of %s to %p unanswered while this process was stalled: not counted', record.connection.id, record.peer)
        return
      default:
        // blocked by the local muxer's stream cap
        record.probesBlocked++
        record.error('probe', outcome.error, now)
        return
    }

    this.evaluate(record, now)
  }

  /**
   * Scores a record after a check, moves its state, reports and repairs
   *
   * @internal
   */
  evaluate (record: ConnectionRecord, now: number): void {
    evaluate(this, record, now)
  }

  /** @internal */
  snapshot (record: ConnectionRecord, now: number): ConnectionHealthSnapshot {
    return snapshot(this, record, now)
  }

  /** @internal */
  judge (record: ConnectionRecord, now: number): void {
    this.repairer.judge(record, now)
  }

  /** @internal */
  repair (record: ConnectionRecord): void {
    this.repairer.repair(record).catch(err => { this.log.error('repair of %s failed - %e', record.connection.id, err) })
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    this.track(evt.detail)
  }

  private onClose (evt: CustomEvent<Connection>): void {
    const record = this.records.get(evt.detail.id)

    if (record == null) {
      return
    }

    const now = Date.now()
    record.state = 'closed'
    record.event('closed', now)
    report(this, record, now)
    this.untrack(record)

    if (!this.connectionManager.getConnections(record.peer).some(c => c.status === 'open' && c.id !== record.connection.id)) {
      this.sweep.forget(record.peer.toString())
    }

    this.repairer.onClosed(record)
  }

  private onPoolStream (evt: CustomEvent<PoolStreamOutcome>): void {
    const record = this.records.get(evt.detail.connectionId)

    // the stream tap already saw this open on the connection itself
    if (record != null && !record.observesStreams) {
      record.streamOutcome(evt.detail.outcome === 'opened', evt.detail.error, Date.now())
    }
  }

  /** @internal */
  recordsOf (peer: PeerId): ConnectionRecord[] {
    const out: ConnectionRecord[] = []

    for (const conn of this.connectionManager.getConnections(peer)) {
      const record = this.records.get(conn.id)

      if (record != null && conn.status === 'open') {
        out.push(record)
      }
    }

    return out
  }

  getTimeout (peer: PeerId): number {
    let best: number | undefined

    // the peer's connections from the connection manager's per-peer map, not
    // a scan of every record: reports call this, so a scan made a sweep
    // that reports many connections quadratic
    for (const conn of this.connectionManager.getConnections(peer)) {
      const record = this.records.get(conn.id)

      if (record != null && record.peer.equals(peer) && record.rtt.samples > 0) {
        const timeout = record.rtt.timeout(this.options.minTimeout, this.options.maxTimeout, this.options.maxTimeout)
        best = best == null ? timeout : Math.min(best, timeout)
      }
    }

    return best ?? this.options.maxTimeout
  }

  getConnectionHealth (peer: PeerId): PeerHealth | undefined {
    return peerHealth(this, peer)
  }

  getNetworkHealthSummary (): NetworkHealthSummary {
    return summary(this)
  }

  exportHealthMetrics (format: 'json' | 'prometheus'): string {
    return exportMetrics(this, format)
  }
}
