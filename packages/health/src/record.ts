/**
 * Everything measured about one connection. Every buffer is bounded (see
 * `constants.ts`): RTT window 64, errors 32, lifecycle events 32, byte
 * buckets 300.
 */
import { ByteCounter } from './bytes.ts'
import { ERROR_HISTORY, EVENT_HISTORY, STABILITY_WINDOW, SUCCESS_DECAY } from './constants.ts'
import { RttTracker } from './rtt.ts'
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
  readonly errors: TimedError[] = []
  readonly events: TimedEvent[] = []

  constructor (connection: Connection, now: number) {
    this.connection = connection
    this.peer = connection.remotePeer
    this.opened = now
    this.event('opened', now)
  }

  event (event: LifecycleEvent, now: number): void {
    this.events.push({ at: now, event })
    if (this.events.length > EVENT_HISTORY) { this.events.shift() }
  }

  error (kind: TimedError['kind'], name: string, now: number): void {
    this.errors.push({ at: now, kind, name })
    if (this.errors.length > ERROR_HISTORY) { this.errors.shift() }
  }

  probeSucceeded (ms: number): void {
    this.probes++
    this.consecutiveFailures = 0
    this.rtt.add(ms)
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
      this.error('stream', name ?? 'Error', now)
    }
  }

  /**
   * Failed streams within the stability window. Failed probes are not
   * counted here: they make up the success rate, and counting them twice
   * would make a short `checkInterval` alone breach `maxFailedStreams`
   */
  recentFailures (now: number): number {
    return this.errors.filter(e => e.kind === 'stream' && now - e.at <= STABILITY_WINDOW).length
  }
}
