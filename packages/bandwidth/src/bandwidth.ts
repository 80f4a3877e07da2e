/**
 * The bandwidth manager service: hooks every stream of the node
 * (`stream-hook.ts`), classifies it (`classifier.ts`), shapes its upload
 * through the scheduler (`upload.ts`, `scheduler.ts`) and its download by
 * pausing (`download.ts`), counts it (`monitor.ts`) and, for background
 * classes, lets congestion control set its connection's rate
 * (`congestion.ts`).
 */
import { InvalidParametersError, serviceCapabilities } from '@libp2p/interface'
import { BANDWIDTH_CAPABILITY } from '@x/interface'
import { Classifier } from './classifier.ts'
import { CongestionControl } from './congestion.ts'
import { canShapeDownload, downloadPauses, shapeDownload, unshapeDownload } from './download.ts'
import { exportJson, prometheusText } from './export.ts'
import { findHealth } from './health-link.ts'
import { registerBandwidthMetrics } from './libp2p-metrics.ts'
import { Monitor } from './monitor.ts'
import { resolveOptions } from './options.ts'
import { Scheduler } from './scheduler.ts'
import { hookStreams } from './stream-hook.ts'
import { canShapeUpload, shapeUpload, unshapeUpload, wakeStream } from './upload.ts'
import type { BandwidthManager, BandwidthManagerComponents, BandwidthManagerInit, BandwidthMetrics, ClassMetrics, DirectionRates } from './index.ts'
import type { Counted } from './monitor.ts'
import type { ResolvedBandwidthOptions, ResolvedClass } from './options.ts'
import type { Flow } from './scheduler.ts'
import type { TokenBucket } from './token-bucket.ts'
import type { Connection, Logger, Startable, Stream } from '@libp2p/interface'

interface PeerBudget {
  up: TokenBucket
  down: TokenBucket
  /** Open shaped streams of the peer */
  streams: number
}

interface ShapedStream {
  stream: Stream
  cls: ResolvedClass
  counted: Counted
  peer: string
  flow?: Flow
  release(): void
}

const now = (): number => performance.now()

function inDebt (budget: PeerBudget, t: number): boolean {
  return !budget.down.ready(t) || !budget.up.ready(t)
}

export class BandwidthService implements BandwidthManager, Startable {
  public readonly [Symbol.toStringTag] = '@x/bandwidth'
  public readonly [serviceCapabilities]: string[] = [BANDWIDTH_CAPABILITY]

  readonly options: ResolvedBandwidthOptions
  private readonly components: BandwidthManagerComponents
  private readonly log: Logger
  private readonly classifier: Classifier
  private scheduler: Scheduler
  readonly monitor: Monitor
  private readonly congestion: CongestionControl
  private nodeDown: TokenBucket
  private readonly classDown = new Map<string, TokenBucket>()
  private readonly budgets = new Map<string, PeerBudget>()
  private readonly shaped = new Map<Stream, ShapedStream>()
  private readonly topPriority: number | undefined
  private unhook?: () => void
  private started = false
  private lastBudgetSweep = -Infinity
  unshapedStreams = 0
  private pausesOfClosed = 0

  constructor (components: BandwidthManagerComponents, init: BandwidthManagerInit = {}) {
    this.components = components
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('x:bandwidth')
    this.classifier = new Classifier(this.options.classes, this.options.defaultClass)
    this.scheduler = this.createScheduler()
    this.nodeDown = this.scheduler.bucket(this.options.maxDownload)
    this.monitor = new Monitor(this.options.classes.map(c => c.name), this.options.maxTrackedPeers, this.options.maxTrackedProtocols)
    this.congestion = new CongestionControl(this.options.congestion, this.scheduler, components.events, this.log, this.options.classes)
    const priorities = new Set(this.options.classes.map(c => c.priority))
    this.topPriority = priorities.size > 1 ? Math.max(...priorities) : undefined

    if (components.metrics != null) {
      registerBandwidthMetrics(components.metrics, this.options.metricsPrefix, () => this.getMetrics())
    }
  }

  private createScheduler (): Scheduler {
    const scheduler = new Scheduler({
      maxUpload: this.options.maxUpload,
      classes: this.options.classes,
      burstTime: this.options.burstTime,
      catchUpTime: this.options.catchUpTime
    })

    for (const cls of this.options.classes) {
      this.classDown.set(cls.name, scheduler.bucket(cls.maxRate))
    }

    return scheduler
  }

  isStarted (): boolean {
    return this.started
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.unhook = hookStreams(this.components.registrar, (stream, connection) => { this.onStream(stream, connection) }, (err) => {
      this.log.error('could not shape a stream - %e', err)
    })
    this.congestion.start()
  }

  /** Finds `@x/health` by capability, once every service has started */
  afterStart (): void {
    this.congestion.setHealth(findHealth(this.components))
  }

  stop (): void {
    if (!this.started) {
      return
    }

    this.started = false
    this.unhook?.()
    this.unhook = undefined
    this.congestion.stop()

    for (const entry of [...this.shaped.values()]) {
      entry.release()
    }

    this.budgets.clear()
    this.scheduler.stop()
    // a restart gets fresh buckets and queues
    this.scheduler = this.createScheduler()
    this.nodeDown = this.scheduler.bucket(this.options.maxDownload)
    this.congestion.setScheduler(this.scheduler)
  }

  classify (protocol: string): string {
    if (typeof protocol !== 'string') {
      throw new InvalidParametersError(`protocol must be a string, got ${typeof protocol}`)
    }

    return this.classifier.classify(protocol).name
  }

  /** Puts a newly negotiated stream under the shaper */
  private onStream (stream: Stream, connection: Connection): void {
    if (this.shaped.has(stream) || stream.status !== 'open') {
      return
    }

    const cls = this.classifier.classify(stream.protocol)
    const peer = connection.remotePeer.toString()
    const counted = this.monitor.open(peer, stream.protocol, cls.name, now())
    const budget = this.budget(peer)
    const entry: ShapedStream = { stream, cls, counted, peer, release: () => {} }
    let upload = false
    let download = false

    if (canShapeUpload(stream)) {
      const buckets = [budget.up]
      const path = cls.background ? this.congestion.bucketFor(connection) : undefined

      if (path != null) {
        buckets.push(path)
      }

      entry.flow = this.scheduler.flow(cls.name, buckets, () => { wakeStream(stream) })
      const flow = entry.flow
      upload = shapeUpload(stream, {
        flow,
        scheduler: this.scheduler,
        onSent: (bytes) => {
          this.monitor.add(counted, 'out', bytes, now())

          if (path != null) {
            this.congestion.sent(connection, bytes)
          }
        }
      })
    }

    if (canShapeDownload(stream)) {
      const classDown = this.classDown.get(cls.name) as TokenBucket
      const exempt = this.topPriority != null && cls.priority === this.topPriority
      download = shapeDownload(stream, {
        pausing: exempt ? [classDown] : [this.nodeDown, budget.down, classDown],
        charged: exempt ? [this.nodeDown, budget.down] : [],
        refunded: [this.nodeDown, classDown],
        onReceived: (bytes) => { this.monitor.add(counted, 'in', bytes, now()) },
        now
      })
    }

    if (!upload || !download) {
      this.unshapedStreams++
      this.log('stream %s (%s) of %p: upload shaped %s, download shaped %s', stream.id, stream.protocol, connection.remotePeer, upload, download)
    }

    let released = false
    const release = (): void => {
      if (released) {
        return
      }

      released = true
      stream.removeEventListener('close', release)
      this.pausesOfClosed += downloadPauses(stream)
      unshapeDownload(stream)
      unshapeUpload(stream)
      this.shaped.delete(stream)
      this.monitor.close(counted)
      budget.streams--

      // a peer's debt outlives its streams: one that resets its streams
      // starts the next one paused, not with a fresh budget
      if (budget.streams <= 0 && !inDebt(budget, now())) {
        this.budgets.delete(peer)
      }
    }

    entry.release = release
    stream.addEventListener('close', release)
    this.shaped.set(stream, entry)
    this.log.trace('stream %s %s %s of %p in class %s', stream.id, stream.direction, stream.protocol, connection.remotePeer, cls.name)
  }

  private budget (peer: string): PeerBudget {
    let budget = this.budgets.get(peer)

    if (budget == null) {
      this.sweepBudgets(now())
      budget = {
        up: this.scheduler.bucket(this.options.perPeer.maxUpload),
        down: this.scheduler.bucket(this.options.perPeer.maxDownload),
        streams: 0
      }
      this.budgets.set(peer, budget)
    }

    budget.streams++
    return budget
  }

  /**
   * Drops the budgets of peers with no open stream once their debt is paid
   * (scans at most once a second, when a peer opens its first stream); past
   * `maxTrackedPeers` such budgets, the oldest go even in debt
   */
  private sweepBudgets (t: number): void {
    if (t - this.lastBudgetSweep < 1000) {
      return
    }

    this.lastBudgetSweep = t
    let idle = 0

    for (const budget of this.budgets.values()) {
      if (budget.streams <= 0) {
        idle++
      }
    }

    for (const [peer, budget] of this.budgets) {
      if (budget.streams <= 0 && (idle > this.options.maxTrackedPeers || !inDebt(budget, t))) {
        this.budgets.delete(peer)
        idle--
      }
    }
  }

  getMetrics (): BandwidthMetrics {
    const t = now()
    this.monitor.expire(t)
    const table = (map: Map<string, { rates(now: number): DirectionRates }>): Record<string, DirectionRates> => {
      const out: Record<string, DirectionRates> = {}

      for (const [key, windows] of map) {
        out[key] = windows.rates(t)
      }

      return out
    }
    const openPerClass = new Map<string, number>()
    let pauses = this.pausesOfClosed

    for (const entry of this.shaped.values()) {
      openPerClass.set(entry.cls.name, (openPerClass.get(entry.cls.name) ?? 0) + 1)
      pauses += downloadPauses(entry.stream)
    }

    const classes: Record<string, ClassMetrics> = {}

    for (const cls of this.options.classes) {
      const queue = this.scheduler.classes.get(cls.name)
      const stats = queue?.stats
      classes[cls.name] = {
        ...(this.monitor.classes.get(cls.name)?.rates(t) as DirectionRates),
        priority: cls.priority,
        weight: cls.weight,
        openStreams: openPerClass.get(cls.name) ?? 0,
        queue: {
          streams: stats?.streams ?? 0,
          bytes: Math.max(0, stats?.bytes ?? 0),
          lastDelay: stats?.lastDelay ?? 0,
          avgDelay: stats?.avgDelay ?? 0,
          maxDelay: queue?.maxRecentDelay(t) ?? 0
        }
      }
    }

    return {
      node: this.monitor.node.rates(t),
      peers: table(this.monitor.peers),
      protocols: table(this.monitor.protocols),
      classes,
      streams: { shaped: this.shaped.size, unshaped: this.unshapedStreams, downloadPauses: pauses },
      congestion: this.congestion.getMetrics()
    }
  }

  exportMetrics (format: 'json' | 'prometheus'): string {
    if (format !== 'json' && format !== 'prometheus') {
      throw new InvalidParametersError(`format must be 'json' or 'prometheus', got ${String(format)}`)
    }

    const metrics = this.getMetrics()

    if (format === 'prometheus') {
      return prometheusText(this.options.metricsPrefix, metrics)
    }

    return exportJson(metrics)
  }
}
