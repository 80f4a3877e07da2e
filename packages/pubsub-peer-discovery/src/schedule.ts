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
 * makes peers look gone.
 *
 * Newcomers do not wait a period: a node that hears a peer it did not know
 * answers within half an interval (one answer however many newcomers), the
 * nodes connected to the newcomer first and with the records of the peers
 * they know (see discovery.ts and peer-exchange.ts). Any two of a node's
 * announcements are at least half an interval apart (a change of our own
 * addresses aside), so a node publishes at most two per interval.
 */
import * as C from './constants.ts'

export interface ScheduleOptions {
  interval: number
  jitter: number
  targetAnnouncements: number
}

/** Intervals between a node's own announcements in a topic of `nodes` */
export function periodIntervals (nodes: number, targetAnnouncements: number): number {
  return Math.max(1, Math.ceil(nodes / targetAnnouncements))
}

/** Delay until the next periodic announcement, ms */
export function nextAnnouncementDelay (nodes: number, options: ScheduleOptions, random: () => number = Math.random): number {
  const period = periodIntervals(nodes, options.targetAnnouncements) * options.interval
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
 * Delay of an answer to a joining peer, spread so that answers do not
 * collide: within the first eighth of an interval for a node that relays
 * records to it, in the rest of the first half for the others (which then
 * hear the relay first, and drop their answer if it carried their record)
 */
export function answerDelay (options: ScheduleOptions, relaying: boolean, random: () => number = Math.random): number {
  const split = options.interval * C.RELAY_ANSWER_WINDOW

  return Math.round(relaying ? random() * split : split + random() * (options.interval / 2 - split))
}

/** How long a peer counts as heard after its last announcement, ms */
export function peerTtl (nodes: number, options: ScheduleOptions, periods: number): number {
  return periodIntervals(nodes, options.targetAnnouncements) * options.interval * periods
}
