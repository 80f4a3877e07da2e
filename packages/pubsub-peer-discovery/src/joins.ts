/**
 * The one coordinator of the join state: who is joining, when we answer,
 * and whether our announcements carry other peers' records. Its rules are
 * PROTOCOL.md S4-S7 and X1-X3; each is marked where it is applied.
 *
 * Answers go through explicit states:
 *
 * - `idle`: nothing owed;
 * - `answer-due`: a joiner connected to us is waiting; one timer, however
 * many joiners (S6); any announcement answers them all;
 * - `follow-up-due`: answered; a follow-up about an interval after the
 * join is due unless another announcement of ours goes out first (S4).
 *
 * Records are due, independently, for the next EXCHANGES_PER_JOIN
 * announcements within YOUNG_PEER_INTERVALS of a join (X1, X3).
 */
import * as C from './constants.ts'
import { answerDelay, warmupDelay } from './schedule.ts'
import type { CacheVerdict } from './peer-cache.ts'
import type { ScheduleOptions } from './schedule.ts'
import type { PeerId } from '@libp2p/interface'

export type JoinState = 'idle' | 'answer-due' | 'follow-up-due'

export interface JoinsHost {
  /** Publishes our announcement now; whether it went out (false: no subscriber yet) */
  answer(): boolean
  /** When we last announced, ms (0: not since start) */
  lastAnnounced(): number
}

/** What we know of a peer whose valid announcement we just took */
export interface Heard {
  verdict: CacheVerdict
  /** Connected to us: our publishes reach it directly (flood publishing) */
  connected: boolean
  /** It sent its own record: it runs this module and reads relayed records */
  readsRecords: boolean
  /** How long ago we first heard it, ms */
  age: number
}

export class Joins {
  private readonly schedule: ScheduleOptions
  private readonly host: JoinsHost
  private state: JoinState = 'idle'
  private timer?: ReturnType<typeof setTimeout>
  /** When the pending answer is due */
  private due = Infinity
  /** When the first joiner the pending answer is for was heard */
  private since = 0
  /** Whether the pending answer is followed up (a join's first answer is; S5's and the follow-up are not) */
  private followUp = false
  private lastAnswered = -Infinity
  private running = false
  /** Announcements that still carry records, and until when */
  private recordsDue = 0
  private recordsDueUntil = 0
  /** The joiners records are due for (X2), bounded */
  private readonly joiners = new Set<string>()

  constructor (schedule: ScheduleOptions, host: JoinsHost) {
    this.schedule = schedule
    this.host = host
  }

  get current (): JoinState {
    return this.state
  }

  /** Whether an answer is owed that reached nobody (no subscriber then): our next announcement is it */
  get owed (): boolean {
    return this.state === 'answer-due' && this.timer == null
  }

  start (): void {
    this.running = true
    this.lastAnswered = -Infinity
  }

  stop (): void {
    this.running = false
    this.toIdle()
    this.recordsDue = 0
    this.recordsDueUntil = 0
    this.joiners.clear()
  }

  /**
   * A valid announcement was taken; returns whether its peer is new to us
   * (or returned), which keeps the warm-up going (S2)
   */
  heard (peer: PeerId, heard: Heard, now: number): boolean {
    if (heard.verdict === 'known') {
      // S5: an official peer connected to us and still young may have
      // missed our answer while its mesh was forming
      if (heard.connected && !heard.readsRecords && heard.age < C.YOUNG_PEER_INTERVALS * this.schedule.interval) {
        this.requestAnswer(now, false)
      }
      return false
    }

    if (heard.verdict === 'changed') {
      return false
    }

    // S7: peers not connected to us are not answered
    if (!heard.connected) {
      return true
    }

    // S4, X1
    this.recordsFor(peer, now)
    this.requestAnswer(now, true)
    return true
  }

  /** We published, carrying `records` of others: that answered everyone waiting */
  announced (records: number, now: number): void {
    if (this.state === 'answer-due') {
      this.answered()
    } else if (this.state === 'follow-up-due') {
      // S4: another announcement after the answer serves as the follow-up
      this.toIdle()
    }

    // X1: an announcement without records (right after start) does not use one up
    if (records > 0 && this.recordsDue > 0) {
      this.recordsDue--
    }
  }

  /**
   * Whether our next announcement carries records (X1). Another peer's
   * relay does not make us hold ours back (X3): a joiner takes relayed
   * records only from peers it is connected to, and we cannot tell whether
   * it is connected to that relay
   */
  carriesRecords (now: number): boolean {
    if (now >= this.recordsDueUntil) {
      this.recordsDue = 0
    }

    return this.recordsDue > 0
  }

  /**
   * Peers whose records we never relay (X2): ours, and a lone joiner's
   * (it knows itself); several joining at once need each other's
   */
  excluded (self: PeerId): Set<string> {
    const excluded = new Set([self.toString()])

    if (this.joiners.size === 1) {
      excluded.add(this.joiners.values().next().value as string)
    }

    return excluded
  }

  private recordsFor (peer: PeerId, now: number): void {
    if (this.recordsDue === 0 || now >= this.recordsDueUntil) {
      this.joiners.clear()
    }

    this.recordsDue = C.EXCHANGES_PER_JOIN
    this.recordsDueUntil = now + C.YOUNG_PEER_INTERVALS * this.schedule.interval

    if (this.joiners.size < C.MAX_TRACKED_JOINERS) {
      this.joiners.add(peer.toString())
    }
  }

  /**
   * S4, S6: an answer within the first eighth of an interval, no sooner
   * than half an interval after our last announcement nor an interval
   * after our last answer; one pending answer, brought forward if this one
   * is due earlier
   */
  private requestAnswer (now: number, followUp: boolean): void {
    if (!this.running) {
      return
    }

    const at = Math.max(now + answerDelay(this.schedule), this.host.lastAnnounced() + this.schedule.interval / 2, this.lastAnswered + this.schedule.interval)

    if (this.state !== 'answer-due') {
      this.since = now
      this.followUp = false
    }

    this.followUp ||= followUp

    if (this.state === 'answer-due' && at >= this.due) {
      return
    }

    clearTimeout(this.timer)
    this.state = 'answer-due'
    this.due = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      const before = this.lastAnswered
      this.state = 'idle'
      this.lastAnswered = Date.now()

      if (this.host.answer()) {
        this.answered()
        return
      }

      // nothing went out (no subscriber yet, S1): still owed, to the next
      // announcement of ours (the first subscriber's, or a joiner's later)
      this.lastAnswered = before
      this.state = 'answer-due'
      this.due = Infinity
    }, Math.max(0, at - now))
  }

  /** The pending answer went out (or another announcement did) */
  private answered (): void {
    if (this.followUp) {
      this.toFollowUp()
    } else {
      this.toIdle()
    }
  }

  /** Answered: a follow-up about an interval after the join (S4) */
  private toFollowUp (): void {
    clearTimeout(this.timer)
    this.state = 'follow-up-due'
    this.due = Infinity
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.state = 'idle'
      this.requestAnswer(Date.now(), false)
    }, Math.max(0, this.since + warmupDelay(this.schedule) - Date.now()))
  }

  private toIdle (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.state = 'idle'
    this.due = Infinity
  }
}
