/**
 * When to announce, so that messages per node per interval stay flat as a
 * topic grows.
 *
 * Every announcement reaches every subscriber, so if each of N nodes
 * announced every interval, each would receive N - 1 messages per interval.
 * Instead a node announces once per period of P = ceil(N / K) intervals, at
 * a random point of it: the topic as a whole carries about K announcements
 * per interval whatever N is (N is estimated from the peers heard). A peer
 * is considered unheard after several periods, so the slower rhythm never
 * makes peers look gone. The period is at most `maxPeriod` intervals: keys
 * that each announce twice count as nodes, so a flood of them could
 * otherwise make every node announce almost never.
 *
 * Newcomers do not wait a period: the nodes connected to a newcomer answer
 * it (PROTOCOL.md, "Announcing").
 */
import * as C from './constants.ts'

export interface ScheduleOptions {
  interval: number
  jitter: number
  targetAnnouncements: number
  /** The longest period, intervals, whatever the size estimate (keys that announce twice look like nodes); unbounded if not set */
  maxPeriod?: number
}

/** Intervals between a node's own announcements in a topic of `nodes`, at most `maxPeriod` */
export function periodIntervals (nodes: number, targetAnnouncements: number, maxPeriod = Infinity): number {
  return Math.max(1, Math.min(maxPeriod, Math.ceil(nodes / targetAnnouncements)))
}

/** Delay until the next periodic announcement, ms */
export function nextAnnouncementDelay (nodes: number, options: ScheduleOptions, random: () => number = Math.random): number {
  const period = periodIntervals(nodes, options.targetAnnouncements, options.maxPeriod) * options.interval
  const jitter = 1 + options.jitter * (2 * random() - 1)

  // uniform over half a period to one and a half: on average once a period,
  // spread so nodes do not announce together; the
  // jitter keeps nodes with equal estimates from falling into step
  return Math.max(0, Math.round(period * (0.5 + random()) * jitter))
}

/** Delay between announcements while warming up: one interval, jittered */
export function warmupDelay (options: ScheduleOptions, random: () => number = Math.random): number {
  return Math.round(options.interval * (1 + options.jitter * (2 * random() - 1)))
}

/**
 * Delay of an answer to a joining peer connected to us: within the first
 * eighth of an interval, spread so that the answers of its neighbours do
 * not collide
 */
export function answerDelay (options: ScheduleOptions, random: () => number = Math.random): number {
  return Math.round(random() * options.interval * C.RELAY_ANSWER_WINDOW)
}

/** How long a peer counts as heard after its last announcement, ms */
export function peerTtl (nodes: number, options: ScheduleOptions, periods: number): number {
  return periodIntervals(nodes, options.targetAnnouncements, options.maxPeriod) * options.interval * periods
}
