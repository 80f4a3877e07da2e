/**
 * When we announce on our own (what we announce is `discovery.ts`'s
 * business, answers to joiners `joins.ts`'s): at start, on a periodic timer
 * (every interval while warming up, then once a period of `schedule.ts`)
 * and debounced after a change of our addresses (PROTOCOL.md S1-S3).
 */
import * as C from './constants.ts'
import { nextAnnouncementDelay, warmupDelay } from './schedule.ts'
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
  private periodicTimer?: ReturnType<typeof setTimeout>
  private debounceTimer?: ReturnType<typeof setTimeout>
  private running = false
  private startedAt = 0
  private announcedAt = 0
  /** Announcements since start: a debounced one is skipped if another went out after it was asked for */
  private announcements = 0
  /** The latest announcement (its number since start) that was incomplete (see `incomplete`) */
  private missed = 0
  /** When the periodic timer fires */
  private periodicDue = 0
  /** When we last heard a peer we did not know (or one that returned) */
  private lastNewPeer = -Infinity

  constructor (init: AnnouncementClockInit) {
    this.init = init
    this.schedule = init.schedule
  }

  /** Whether we announced since start */
  get announcedYet (): boolean {
    return this.announcedAt > 0
  }

  /** When we last announced, ms (0: not since start) */
  get lastAnnounced (): number {
    return this.announcedAt
  }

  start (): void {
    this.running = true
    this.startedAt = Date.now()
    this.announcedAt = 0
    this.announcements = 0
    this.missed = 0
    this.lastNewPeer = -Infinity
    this.periodicDue = 0
    this.init.announce('start')
    this.schedulePeriodic()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.periodicTimer)
    clearTimeout(this.debounceTimer)
  }

  /** The number (since start) the next announcement will have */
  get nextAnnouncement (): number {
    return this.announcements + 1
  }

  /** We published */
  announced (): void {
    this.announcedAt = Date.now()
    this.announcements++
  }

  /**
   * Announcement `announcement` (`nextAnnouncement` before it went out)
   * missed a topic (it had no subscriber, or the publish failed) or lacked
   * our record of its addresses (still being sealed): it stands for no
   * debounced one
   */
  incomplete (announcement: number): void {
    this.missed = Math.max(this.missed, announcement)
  }

  /** A peer we did not know (or one that returned) announced itself */
  heardNewPeer (): void {
    this.lastNewPeer = Date.now()
  }

  /**
   * Announces once `delay` passed without another call, unless another
   * announcement went out meanwhile: it carried our addresses as they were
   * after the call (S1); not if one of those was incomplete (it missed a
   * topic, or lacked our record of the new addresses)
   */
  debounced (reason: string, delay = this.init.announceDebounce): void {
    if (!this.running) {
      return
    }

    clearTimeout(this.debounceTimer)
    const before = this.announcements
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined

      if (this.announcements === before || this.missed > before) {
        this.init.announce(reason)
      }
    }, delay)
  }

  private schedulePeriodic (delay?: number): void {
    clearTimeout(this.periodicTimer)
    delay ??= this.warmingUp() ? warmupDelay(this.schedule) : nextAnnouncementDelay(this.init.nodes(), this.schedule)
    this.periodicDue = Date.now() + delay
    this.periodicTimer = setTimeout(() => {
      // at least half an interval after the announcement before
      const wait = this.announcedAt + this.schedule.interval / 2 - Date.now()

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
