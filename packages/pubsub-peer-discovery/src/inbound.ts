/**
 * The checks of the gate (`gate.ts`) every message on our topics passes, once: from gossipsub's topic
 * validator when the pubsub service has one (so what we refuse is not
 * forwarded either, and its sender is scored), else from the `message`
 * event. Cheap checks come first, and nothing is charged to an author for
 * a replay (PROTOCOL.md, "Receiving").
 */
import * as C from './constants.ts'
import { AuthorRateLimiter } from './rate-limit.ts'
import { SequenceNumbers } from './sequence-numbers.ts'
import { validateAnnouncement } from './validate.ts'
import type { PubSubMessage } from './pubsub.ts'
import type { Announcement, DropReason, ValidationLimits } from './validate.ts'
import type { PeerId } from '@libp2p/interface'

/** gossipsub's verdicts: `reject` also penalises the sender's score */
export type Action = 'accept' | 'ignore' | 'reject'

export type Verdict = { action: 'accept', announcement: Announcement } | { action: 'ignore' | 'reject', reason: DropReason }

/** Dropped and not forwarded, without blame: stale, repeated or over a budget */
const IGNORED: ReadonlySet<DropReason> = new Set<DropReason>(['self', 'rate-limited', 'replayed', 'stale-record', 'over-budget'])

export function drop (reason: DropReason): Verdict {
  return { action: IGNORED.has(reason) ? 'ignore' : 'reject', reason }
}

export interface InboundOptions {
  limits: ValidationLimits
  /** Messages per author, per topic and interval */
  rateLimit: number
  interval: number
}

export class Inbound {
  private readonly self: PeerId
  private readonly options: InboundOptions
  private readonly rateLimiter: AuthorRateLimiter
  private readonly seqnos = new SequenceNumbers({ maxEstablished: C.MAX_ESTABLISHED_AUTHORS, maxProbation: C.MAX_TRACKED_AUTHORS })

  constructor (self: PeerId, options: InboundOptions) {
    this.self = self
    this.options = options
    this.rateLimiter = new AuthorRateLimiter(options.rateLimit, options.interval, C.MAX_TRACKED_AUTHORS)
  }

  judge (message: PubSubMessage, now: number): Verdict {
    const { limits } = this.options

    if (message.data.byteLength > limits.maxMessageSize) {
      return drop('oversized')
    }

    if (message.type !== 'signed' && !limits.allowUnsigned) {
      return drop('unsigned')
    }

    // per author and topic: an announcement goes to every topic, each copy
    // with its own seqno, and copies may arrive out of order; unsigned
    // messages (only accepted with allowUnsigned) share one budget
    const key = this.key(message)
    const seqno = message.type === 'signed' ? message.sequenceNumber : undefined

    // a replay charges nothing: it cannot exhaust the author's budget
    if (seqno != null && !this.seqnos.fresh(key, seqno)) {
      return drop('replayed')
    }

    if (!this.rateLimiter.allow(key, now)) {
      return drop('rate-limited')
    }

    const result = validateAnnouncement(message, this.self, limits)

    if (typeof result === 'string') {
      return drop(result)
    }

    return { action: 'accept', announcement: result }
  }

  /**
   * The gate admitted the message (past the node-wide budget): its seqno
   * is the author's highest now. Only admitted messages are remembered, so
   * a flood of fresh authors over the budget cannot evict an author's
   * seqno and reopen its old messages to replay; authors connected to us
   * or admitted twice are kept apart from fresh ones, and a flood of fresh
   * authors cannot evict them either (sequence-numbers.ts). `expiry`: after
   * how long without a message an established author counts as gone, ms
   */
  admitted (message: PubSubMessage, now: number, connected: boolean, expiry: number): void {
    if (message.type === 'signed' && message.sequenceNumber != null) {
      this.seqnos.admit(this.key(message), message.sequenceNumber, now, connected, expiry)
    }
  }

  /**
   * Whether the message's author is established (connected to us or
   * admitted twice, sequence-numbers.ts) and was admitted within `expiry` ms
   */
  established (message: PubSubMessage, now: number, expiry: number): boolean {
    return message.type === 'signed' && this.seqnos.isEstablished(this.key(message), now, expiry)
  }

  private key (message: PubSubMessage): string {
    return `${message.from?.toString() ?? 'unsigned'}/${message.topic}`
  }

  /** Forgets the rates (on stop); sequence numbers are kept, so a restart opens no window for replays */
  clear (): void {
    this.rateLimiter.clear()
  }
}
