/**
 * When we announce (what we announce is `discovery.ts`'s business): at
 * start, on a periodic timer (every interval while warming up, then once a
 * period of `schedule.ts`), debounced after a change of our addresses, and
 * in answer to joining peers (one pending answer, see `pending-answer.ts`).
 * Any two announcements are at least half an interval apart, the first one
 * and debounced ones aside: at most two per interval.
 */
import * as C from './constants.ts'
import { PendingAnswer } from './pending-answer.ts'
import { answerDelay, nextAnnouncementDelay, warmupDelay } from './schedule.ts'
import type { ScheduleOptions } from './schedule.ts'

export interface AnnouncementClockInit {
  schedule: ScheduleOptions
  announceDebounce: number
  /** Publishes our announcement, saying why */
  announce(reason: string): void
  /** The estimated number of nodes on our topics */
  nodes(): number
  /** Runs after each periodic announcement */
  afterPeriodic(): void
}

/** How a joining peer is answered */
export interface JoinAnswer {
  /** We relay records to it: answer first */
  relaying: boolean
  /** A relay carrying our record makes the answer unnecessary */
  droppable: boolean
  /** Announce again about an interval later too */
  secondChance: boolean
}

export class AnnouncementClock {
  private readonly init: AnnouncementClockInit
  private readonly schedule: ScheduleOptions
  private readonly answer: PendingAnswer
  private periodicTimer?: ReturnType<typeof setTimeout>
  private debounceTimer?: ReturnType<typeof setTimeout>
  private running = false
  private startedAt = 0
  private lastAnnounced = 0
  /** When the periodic timer fires */
  private periodicDue = 0
  /** When we last heard a peer we did not know (or one that returned) */
  private lastNewPeer = -Infinity

  constructor (init: AnnouncementClockInit) {
    this.init = init
    this.schedule = init.schedule
    this.answer = new PendingAnswer(() => { init.announce('answer') })
  }

  /** Whether we announced since start */
  get announcedYet (): boolean {
    return this.lastAnnounced > 0
  }

  start (): void {
    this.running = true
    this.startedAt = Date.now()
    this.lastAnnounced = 0
    this.lastNewPeer = -Infinity
    this.periodicDue = 0
    this.init.announce('start')
    this.schedulePeriodic()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.periodicTimer)
    clearTimeout(this.debounceTimer)
    this.answer.clear()
  }

  /** We published: that answers every peer joining so far */
  announced (): void {
    this.lastAnnounced = Date.now()
    this.answer.clear()
  }

  /** A peer we did not know (or one that returned) announced itself */
  joined (answer: JoinAnswer): void {
    const now = Date.now()
    this.lastNewPeer = now
    this.requestAnswer(now, this.schedule.interval / 2, answer.relaying, answer.droppable)

    if (answer.secondChance) {
      this.hurryPeriodic()
    }
  }

  /**
   * A peer still joining announced again, and only our own announcements
   * tell it about us: answer, at most once an interval
   */
  joiningAgain (): void {
    this.requestAnswer(Date.now(), this.schedule.interval, false, false)
  }

  /** A relay carried our record to the peers joining now; true if that dropped our answer */
  relayedUs (): boolean {
    return this.answer.relayed()
  }

  /** Announces once `delay` passed without another call */
  debounced (reason: string, delay = this.init.announceDebounce): void {
    if (!this.running) {
      return
    }

    clearTimeout(this.debounceTimer)
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined
      this.init.announce(reason)
    }, delay)
  }

  /**
   * Answer soon (sooner if we relay records), but not sooner than `spacing`
   * after our last announcement; an answer already pending is brought
   * forward if this one is due earlier
   */
  private requestAnswer (now: number, spacing: number, relaying: boolean, droppable: boolean): void {
    if (!this.running) {
      return
    }

    const at = Math.max(now + answerDelay(this.schedule, relaying), this.lastAnnounced + spacing)
    this.answer.request(at, droppable)
  }

  private schedulePeriodic (delay?: number): void {
    clearTimeout(this.periodicTimer)
    delay ??= this.warmingUp() ? warmupDelay(this.schedule) : nextAnnouncementDelay(this.init.nodes(), this.schedule)
    this.periodicDue = Date.now() + delay
    this.periodicTimer = setTimeout(() => {
      // at least half an interval after the announcement before
      const wait = this.lastAnnounced + this.schedule.interval / 2 - Date.now()

      if (wait > 0) {
        this.schedulePeriodic(wait)
        return
      }

      this.init.announce('periodic')
      this.init.afterPeriodic()
      this.schedulePeriodic()
    }, delay)
  }

  /**
   * Besides the answer, announce again about an interval later (not a whole
   * period), so a newcomer whose mesh was still forming gets a second chance
   */
  private hurryPeriodic (): void {
    if (!this.running) {
      return
    }

    const delay = warmupDelay(this.schedule)

    if (this.periodicDue > Date.now() + delay) {
      this.schedulePeriodic(delay)
    }
  }

  /**
   * Whether we announce every interval: in the first intervals after start,
   * and for as long as we keep hearing new peers (a forming swarm), up to
   * MAX_WARMUP_INTERVALS after start
   */
  private warmingUp (): boolean {
    const now = Date.now()
    const since = now - this.startedAt

    if (since < C.WARMUP_INTERVALS * this.schedule.interval) {
      return true
    }

    return since < C.MAX_WARMUP_INTERVALS * this.schedule.interval && now - this.lastNewPeer < this.schedule.interval
  }
}
