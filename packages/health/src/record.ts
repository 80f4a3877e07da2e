/**
 * Everything measured about one connection. Every buffer is bounded (see
 * `constants.ts`): RTT window 64, errors 32, lifecycle events 32, byte
 * buckets 10 + 30 a direction, failed streams in 30 buckets. The histories
 * and the failure buckets are allocated on their first entry (a connection
 * that never failed has no error list; 'opened' is implied by `opened`
 * until a second event comes), so a healthy record is the object, its RTT
 * window and its byte buckets.
 */
import { ByteCounter } from './bytes.ts'
import { AWAKE_RTTS, ERROR_HISTORY, EVENT_HISTORY, SUCCESS_DECAY } from './constants.ts'
import { RttTracker } from './rtt.ts'
import { WindowCount } from './window-count.ts'
import type { ProbeKind } from './index.ts'
import type { Connection, PeerId } from '@libp2p/interface'
import type { ConnectionHealthState } from '@x/interface'

export type LifecycleEvent = 'opened' | 'degraded' | 'recovered' | 'replaced' | 'closed'

export interface TimedError { at: number, kind: 'probe' | 'stream', name: string }
export interface TimedEvent { at: number, event: LifecycleEvent }

export class ConnectionRecord {
  readonly connection: Connection
  readonly peer: PeerId
  readonly opened: number
  readonly rtt = new RttTracker()
  readonly bytes = new ByteCounter()
  successRate = 1
  probes = 0
  probeFailures = 0
  probesSkipped = 0
  probesBlocked = 0
  /** Probes unanswered while this process was stalled, and such probes since the last answer */
  probesStalled = 0
  stallsInARow = 0
  /** What measured the connection last */
  probe?: ProbeKind
  /** The remote refused a ping stream */
  pingUnsupported = false
  /** Muxer probes since the last stream probe, and the successful streams then (`probe: 'auto'`) */
  muxerChecks = 0
  streamsAtStreamCheck = 0
  /** The last ping stream of `auto` failed: the next checks are ping streams until one succeeds (or a stream of the application does) */
  streamCheckFailed = false
  /** Open connections of the peer at the last sweep: scales the checks between ping streams (`probe: 'auto'`) */
  peerConnections = 1
  streamsOpened = 0
  streamsFailed = 0
  /** Streams that succeeded since the connection was last seen degraded */
  streamsOkSinceDegraded = 0
  consecutiveFailures = 0
  unhealthyChecks = 0
  state: ConnectionHealthState = 'healthy'
  score = 1
  lastReportedScore = -1
  /** RTT EWMA in the last `connection:health` event, -1 before any */
  lastReportedRtt = -1
  lastReportedState?: ConnectionHealthState
  replacing = false
  /** Stream opens are seen by the stream tap, not from `pool:stream` events */
  observesStreams = false
  /** The last `AWAKE_RTTS` RTTs less our own stall during each */
  private readonly awake: number[] = []
  private errorList?: TimedError[]
  private eventList?: TimedEvent[]
  private failedStreams?: WindowCount

  constructor (connection: Connection, now: number) {
    this.connection = connection
    this.peer = connection.remotePeer
    this.opened = now
  }

  /** The last `ERROR_HISTORY` errors, oldest first */
  get errors (): TimedError[] {
    return this.errorList ?? []
  }

  /** The last `EVENT_HISTORY` lifecycle events, oldest first */
  get events (): TimedEvent[] {
    return this.eventList ?? [{ at: this.opened, event: 'opened' }]
  }

  event (event: LifecycleEvent, now: number): void {
    this.eventList ??= [{ at: this.opened, event: 'opened' }]
    this.eventList.push({ at: now, event })
    if (this.eventList.length > EVENT_HISTORY) { this.eventList.shift() }
  }

  error (kind: TimedError['kind'], name: string, now: number): void {
    this.errorList ??= []
    this.errorList.push({ at: now, kind, name })
    if (this.errorList.length > ERROR_HISTORY) { this.errorList.shift() }
  }

  /**
   * An answer after `ms`, of which this process was stalled `stalled` ms:
   * the RTT window keeps `ms` (what was measured, for timeouts and
   * reports); the score takes the awake RTT (`awakeRtt`)
   */
  probeSucceeded (ms: number, probe: ProbeKind = 'stream', stalled = 0): void {
    this.probe = probe
    this.probes++
    this.consecutiveFailures = 0
    this.stallsInARow = 0
    this.rtt.add(ms)
    // a stall while the answer was on its way anyway is subtracted too: a
    // path is judged slow only for what is not our own stall
    this.awake.push(Math.max(0, ms - stalled))
    if (this.awake.length > AWAKE_RTTS) { this.awake.shift() }
    this.successRate += SUCCESS_DECAY * (1 - this.successRate)
  }

  probeFailed (name: string, now: number): void {
    this.probes++
    this.probeFailures++
    this.consecutiveFailures++
    this.successRate += SUCCESS_DECAY * (0 - this.successRate)
    this.error('probe', name, now)
  }

  streamOutcome (ok: boolean, name: string | undefined, now: number): void {
    if (ok) {
      this.streamsOpened++
      this.streamsOkSinceDegraded++
    } else {
      this.streamsFailed++
      this.failedStreams ??= new WindowCount()
      this.failedStreams.add(now)
      this.error('stream', name ?? 'Error', now)
    }
  }

  /**
   * Failed streams within the stability window (counted apart from the
   * error history, which keeps only the last 32 errors of both kinds).
   * Failed probes are not counted here: they make up the success rate, and
   * counting them twice would make a short `checkInterval` alone breach
   * `maxFailedStreams`
   */
  /**
   * Median of the last `AWAKE_RTTS` RTTs less this process's own stall
   * during each (undefined before any): how slow the path and the remote
   * are, not how slow we were. What the latency score reads.
   */
  awakeRtt (): number | undefined {
    const [a, b, c] = this.awake

    switch (this.awake.length) {
      case 0: return undefined
      case 1: return a
      case 2: return Math.min(a, b)
      default: return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c))
    }
  }

  recentFailures (now: number): number {
    return this.failedStreams?.count(now) ?? 0
  }
}
