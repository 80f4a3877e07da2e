/**
 * Congestion control of background classes, one LEDBAT controller per
 * connection (`ledbat.ts`), whose rate is a token bucket that every
 * background-class stream on that connection is under (`scheduler.ts`).
 *
 * RTT samples, while the connection's background traffic is busy (sent in
 * the last sample interval), every `sampleInterval`:
 * - its own timing: a yamux PING frame on the connection (`conn.muxer.ping()`),
 * which queues behind everything sent on the connection but not behind
 * our shaper, so it measures the network's queue only;
 * - `@x/health` when that service runs (found by capability,
 * `health-link.ts`): its `connection:health` snapshots (minimum RTT as a
 * base candidate, last RTT as a sample) and, once a second while busy,
 * its report's minimum RTT for the connection.
 * A connection with neither (no muxer PING, no health) is not slowed.
 *
 * Bounded: one controller per connection with background streams, dropped
 * when the connection closes or after `CONGESTION_IDLE_EXPIRY` idle.
 */
import { CONNECTION_HEALTH_EVENT } from '@x/interface'
import { CONGESTION_IDLE_EXPIRY, INITIAL_CONGESTION_RATE, MIN_CONGESTION_RATE } from './constants.ts'
import { Ledbat } from './ledbat.ts'
import type { HealthLike } from './health-link.ts'
import type { CongestionMetrics } from './index.ts'
import type { ResolvedBandwidthOptions, ResolvedClass } from './options.ts'
import type { Scheduler } from './scheduler.ts'
import type { TokenBucket } from './token-bucket.ts'
import type { Connection, Libp2pEvents, Logger, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionHealthSnapshot } from '@x/interface'

interface Path {
  connection: Connection
  bucket: TokenBucket
  ledbat: Ledbat
  /** Bytes sent since the last sample */
  sent: number
  lastSent: number
  lastSample: number
  lastHealthLookup: number
  sampling: boolean
  timer?: ReturnType<typeof setTimeout>
}

interface Pingable {
  ping?(options?: { signal?: AbortSignal }): Promise<number>
}

const now = (): number => performance.now()

export class CongestionControl {
  private readonly options: ResolvedBandwidthOptions['congestion']
  private scheduler: Scheduler
  private readonly events: TypedEventTarget<Libp2pEvents>
  private readonly log: Logger
  private readonly paths = new Map<string, Path>()
  private readonly minRate: number
  private readonly maxRate: number
  private shutdown = new AbortController()
  private health?: HealthLike

  constructor (options: ResolvedBandwidthOptions['congestion'], scheduler: Scheduler, events: TypedEventTarget<Libp2pEvents>, log: Logger, classes: ResolvedClass[]) {
    this.options = options
    this.scheduler = scheduler
    this.events = events
    this.log = log
    const background = classes.filter(c => c.background)
    this.minRate = Math.max(MIN_CONGESTION_RATE, ...background.map(c => c.minRate))
    this.maxRate = Math.max(this.minRate, ...background.map(c => c.maxRate))
    this.onHealth = this.onHealth.bind(this)
  }

  /** The `@x/health` service, when the node runs one */
  setHealth (health: HealthLike | undefined): void {
    this.health = health
  }

  setScheduler (scheduler: Scheduler): void {
    this.scheduler = scheduler
  }

  start (): void {
    if (!this.options.enabled) {
      return
    }

    this.shutdown = new AbortController()
    this.events.addEventListener(CONNECTION_HEALTH_EVENT, this.onHealth)
  }

  stop (): void {
    this.shutdown.abort()
    this.events.removeEventListener(CONNECTION_HEALTH_EVENT, this.onHealth)

    for (const path of this.paths.values()) {
      clearTimeout(path.timer)
    }

    this.paths.clear()
  }

  /** The bucket background streams on this connection are under (undefined when disabled) */
  bucketFor (connection: Connection): TokenBucket | undefined {
    if (!this.options.enabled) {
      return undefined
    }

    let path = this.paths.get(connection.id)

    if (path == null) {
      this.expire()
      const ledbat = new Ledbat({
        targetDelay: this.options.targetDelay,
        minRate: this.minRate,
        maxRate: this.maxRate,
        initialRate: Math.min(this.maxRate, INITIAL_CONGESTION_RATE)
      })
      path = { connection, bucket: this.scheduler.bucket(ledbat.rate), ledbat, sent: 0, lastSent: 0, lastSample: now(), lastHealthLookup: -Infinity, sampling: false }
      this.paths.set(connection.id, path)
    }

    return path.bucket
  }

  /** Background bytes went out on the connection */
  sent (connection: Connection, bytes: number): void {
    const path = this.paths.get(connection.id)

    if (path == null) {
      return
    }

    path.sent += bytes
    path.lastSent = now()

    if (path.timer == null && !path.sampling) {
      this.scheduleSample(path)
    }
  }

  /** Next sample `sampleInterval` after the last one started (at once if that is past) */
  private scheduleSample (path: Path, startedAt = now()): void {
    path.timer = setTimeout(() => {
      path.timer = undefined
      void this.sampleOwn(path)
    }, Math.max(0, startedAt + this.options.sampleInterval - now()))
  }

  private async sampleOwn (path: Path): Promise<void> {
    if (this.paths.get(path.connection.id) !== path || path.connection.status !== 'open') {
      this.paths.delete(path.connection.id)
      return
    }

    this.lookUpHealth(path)
    const muxer = (path.connection as unknown as { muxer?: Pingable }).muxer

    if (typeof muxer?.ping !== 'function') {
      // no own timing: health's events are the samples; look its report up again later
      if (this.health != null && !this.shutdown.signal.aborted && now() - path.lastSent < 2 * this.options.sampleInterval) {
        this.scheduleSample(path)
      }

      return
    }

    path.sampling = true
    const startedAt = now()

    try {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(10_000)])
      const rtt = await muxer.ping({ signal })
      this.feed(path, rtt)
    } catch (err) {
      this.log.trace('congestion sample on %s failed - %e', path.connection.id, err)
    } finally {
      path.sampling = false
    }

    // keep sampling while background traffic flows
    if (!this.shutdown.signal.aborted && now() - path.lastSent < 2 * this.options.sampleInterval && this.paths.get(path.connection.id) === path) {
      this.scheduleSample(path, startedAt)
    }
  }

  /** Offers `@x/health`'s minimum RTT of the connection as a base, at most once a second */
  private lookUpHealth (path: Path): void {
    const t = now()

    if (this.health == null || t - path.lastHealthLookup < 1000) {
      return
    }

    path.lastHealthLookup = t

    try {
      const report = this.health.getConnectionHealth(path.connection.remotePeer)?.connections.find(c => c.connectionId === path.connection.id)

      if (report?.rtt != null && report.rtt.samples > 0) {
        path.ledbat.offerBase(report.rtt.min, t)
      }
    } catch (err) {
      this.log.trace('could not read @x/health - %e', err)
    }
  }

  private feed (path: Path, rtt: number): void {
    const t = now()
    const elapsed = Math.max(1, t - path.lastSample)
    const utilisation = path.sent / Math.max(1, path.ledbat.rate * elapsed / 1000)
    path.lastSample = t
    path.sent = 0
    const before = path.ledbat.rate
    const rate = path.ledbat.sample(rtt, t, utilisation)

    if (rate !== before) {
      this.scheduler.setRate(path.bucket, rate)
    }
  }

  private onHealth (evt: CustomEvent<ConnectionHealthSnapshot>): void {
    const snapshot = evt.detail
    const path = this.paths.get(snapshot?.connectionId)

    if (path == null || snapshot.rtt == null || snapshot.rtt.samples === 0) {
      return
    }

    path.ledbat.offerBase(snapshot.rtt.min, now())

    if (now() - path.lastSent < 2 * this.options.sampleInterval) {
      this.feed(path, snapshot.rtt.last)
    }
  }

  private expire (): void {
    const t = now()

    for (const [id, path] of this.paths) {
      if (path.connection.status !== 'open' || (path.timer == null && !path.sampling && t - path.lastSent > CONGESTION_IDLE_EXPIRY)) {
        clearTimeout(path.timer)
        this.paths.delete(id)
      }
    }
  }

  getMetrics (): CongestionMetrics[] {
    this.expire()
    return [...this.paths.values()].map(path => ({
      connection: path.connection.id,
      peer: path.connection.remotePeer.toString(),
      rate: path.ledbat.rate,
      baseDelay: Number.isFinite(path.ledbat.baseDelay) ? path.ledbat.baseDelay : 0,
      currentDelay: Number.isFinite(path.ledbat.currentDelay) ? path.ledbat.currentDelay : 0,
      samples: path.ledbat.samples
    }))
  }
}
