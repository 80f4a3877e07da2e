/**
 * When we announce (what we announce is `discovery.ts`'s business): at
 * start, on a periodic timer (every interval while warming up, then once a
 * period of `schedule.ts`), debounced after a change of our addresses, and
 * in answer to joining peers connected to us (one pending answer, see
 * `pending-answer.ts`), at most one answer per interval however many join
 * (PROTOCOL.md, "Announcing").
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
  /** When we last answered a joining peer */
  private lastAnswered = -Infinity
  /** The follow-up answer to a join, about an interval after it */
  private followUpTimer?: ReturnType<typeof setTimeout>

  constructor (init: AnnouncementClockInit) {
    this.init = init
    this.schedule = init.schedule
    this.answer = new PendingAnswer(() => {
      this.lastAnswered = Date.now()
      init.announce('answer')
    })
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
    this.lastAnswered = -Infinity
    this.periodicDue = 0
    this.init.announce('start')
    this.schedulePeriodic()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.periodicTimer)
    clearTimeout(this.debounceTimer)
    clearTimeout(this.followUpTimer)
    this.followUpTimer = undefined
    this.answer.clear()
  }

  /** We published: that answers every peer joining so far */
  announced (): void {
    this.lastAnnounced = Date.now()
    this.answer.clear()
  }

  /** A peer we did not know (or one that returned) announced itself */
  heardNewPeer (): void {
    this.lastNewPeer = Date.now()
  }

  /**
   * A peer connected to us joined: answer soon, and follow up about an
   * interval later (its mesh may have been forming), both within the
   * answer budget
   */
  joined (): void {
    const now = Date.now()
    this.lastNewPeer = now
    this.requestAnswer(now)

    if (this.running && this.followUpTimer == null) {
      this.followUpTimer = setTimeout(() => {
        this.followUpTimer = undefined
        // another announcement of ours after our last answer served
        if (this.lastAnnounced <= this.lastAnswered) {
          this.requestAnswer(Date.now())
        }
      }, warmupDelay(this.schedule))
    }
  }

  /**
   * A peer connected to us and still joining announced again, and only our
   * own announcements tell it about us: answer, within the answer budget
   */
  joiningAgain (): void {
    this.requestAnswer(Date.now())
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
   * Answer within the first eighth of an interval, but no sooner than half
   * an interval after our last announcement nor an interval after our last
   * answer: at most one answer per interval, whatever the number of
   * joiners; an answer already pending is brought forward if this one is
   * due earlier
   */
  private requestAnswer (now: number): void {
    if (!this.running) {
      return
    }

    const at = Math.max(now + answerDelay(this.schedule), this.lastAnnounced + this.schedule.interval / 2, this.lastAnswered + this.schedule.interval)
    this.answer.request(at)
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
