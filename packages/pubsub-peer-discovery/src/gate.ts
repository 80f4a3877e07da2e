/**
 * The gate every message on our topics passes once (PROTOCOL.md,
 * "Receiving", R1-R11): gossipsub's topic validator when the pubsub service
 * has one, else the `message` event. It counts every message, judges it
 * with `inbound.ts`, charges the node-wide budget of new peers (or, for an
 * established author we no longer hold, the allowance reserved for those), and keeps
 * the addresses the incoming filter accepts.
 */
import { reachOver } from './address-filter.ts'
import { Budget } from './budget.ts'
import { drop, Inbound } from './inbound.ts'
import type { AddressFilter, AddressScope, AddressSource } from './address-filter.ts'
import type { Verdict } from './inbound.ts'
import type { DiscoveryMetricsRecorder } from './metrics.ts'
import type { PubSubMessage } from './pubsub.ts'
import type { Announcement, ValidationLimits } from './validate.ts'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface GateOptions {
  limits: ValidationLimits
  rateLimit: number
  interval: number
  maxNewPeersPerInterval: number
  incomingAddressFilter: AddressFilter
}

export interface GateHost {
  isStarted(): boolean
  /** Whether we heard the peer lately, itself or through a relayed record */
  knows(peer: PeerId, now: number): boolean
  /** Whether the announcement's own record is older than the one we hold (R10) */
  stale(announcement: Announcement): boolean
  /** Our connections to the peer */
  connections(peer: PeerId): Array<{ remoteAddr?: Multiaddr }>
  /** After how long unheard a peer counts as gone, ms */
  ttl(): number
}

export class Gate {
  private readonly options: GateOptions
  private readonly host: GateHost
  private readonly metrics: DiscoveryMetricsRecorder
  private readonly log: Logger
  private readonly inbound: Inbound
  private readonly newPeers: Budget
  /** R9: the allowance of established authors we no longer hold, apart from `newPeers` so fresh keys cannot spend it */
  private readonly returning: Budget
  /** Verdicts of the topic validator, for the `message` event that follows an accepted message */
  private readonly judged = new WeakMap<object, Verdict>()

  constructor (self: PeerId, options: GateOptions, host: GateHost, metrics: DiscoveryMetricsRecorder, log: Logger) {
    this.options = options
    this.host = host
    this.metrics = metrics
    this.log = log
    this.inbound = new Inbound(self, { limits: options.limits, rateLimit: options.rateLimit, interval: options.interval })
    this.newPeers = new Budget(options.maxNewPeersPerInterval, options.interval)
    this.returning = new Budget(options.maxNewPeersPerInterval, options.interval)
    this.validate = this.validate.bind(this)
  }

  /**
   * gossipsub's topic validator: what we drop is not forwarded either, and
   * `reject` counts against the peer that sent it
   */
  validate (propagationSource: PeerId, message: PubSubMessage): 'accept' | 'ignore' | 'reject' {
    if (!this.host.isStarted()) {
      return 'ignore'
    }

    const verdict = this.judge(message, propagationSource)

    if (verdict.action === 'accept') {
      this.judged.set(message, verdict)
    }

    return verdict.action
  }

  /** The announcement of a message `validate` just accepted (before its delivery) */
  acceptedAnnouncement (message: PubSubMessage): Announcement | undefined {
    const verdict = this.judged.get(message)
    return verdict?.action === 'accept' ? verdict.announcement : undefined
  }

  /** The verdict on a delivered message: the validator's, or judged now */
  delivered (message: PubSubMessage): Verdict {
    const verdict = this.judged.get(message) ?? this.judge(message)
    this.judged.delete(message)
    return verdict
  }

  /** Takes one new peer from the node-wide budget (R9) */
  takeNewPeer (now: number): boolean {
    return this.newPeers.take(now)
  }

  /** Forgets rates and budgets (on stop) */
  clear (): void {
    this.inbound.clear()
    this.newPeers.reset()
    this.returning.reset()
  }

  /**
   * Counts the message and judges it once: dropped (counted by reason) or
   * accepted with the addresses the incoming filter keeps
   */
  private judge (message: PubSubMessage, propagationSource?: PeerId): Verdict {
    const now = Date.now()
    this.metrics.received++
    this.metrics.receivedBytes += message.data.byteLength

    let verdict: Verdict

    try {
      verdict = this.inbound.judge(message, now)

      if (verdict.action === 'accept') {
        verdict = this.admit(verdict.announcement, now, message, propagationSource)
      }
    } catch (err) {
      // judging never throws; a throwing incoming filter, say
      this.log.error('could not judge a message on %s - %e', message.topic, err)
      verdict = drop('undecodable')
    }

    if (verdict.action !== 'accept') {
      this.metrics.drop(verdict.reason)

      if (verdict.reason !== 'self') {
        this.log('dropped a message on %s: %s', message.topic, verdict.reason)
      }
    } else {
      this.inbound.admitted(message, now, verdict.announcement.connected === true, this.host.ttl())
      this.metrics.accepted++
    }

    return verdict
  }

  /** R9, R10, R11 */
  private admit (announcement: Announcement, now: number, message: PubSubMessage, propagationSource?: PeerId): Verdict {
    // an unsigned message (allowUnsigned) proves no author: it speaks for
    // the peer whose key it carries only if that peer sent it to us itself
    // (a peer never forwards a message carrying its own key: it is `self`)
    const vouched = message.type === 'signed' || (propagationSource != null && propagationSource.equals(announcement.peer))
    const connected = vouched && this.host.connections(announcement.peer).length > 0

    // a peer we do not know costs a share of the node-wide budget; one
    // whose seqno is established (admitted within its ttl) a share of its
    // own allowance, which fresh keys cannot spend. A peer connected to us
    // costs none: keys that announced twice can spend that allowance, a
    // connection they cannot forge, and our connections bound these peers
    if (!this.host.knows(announcement.peer, now) && !connected) {
      const established = this.inbound.established(message, now, this.host.ttl())

      if (!(established ? this.returning : this.newPeers).take(now)) {
        return drop('over-budget')
      }
    }

    if (this.host.stale(announcement)) {
      return drop('stale-record')
    }
    // an unvouched key names no author: the DNS lookup budgets (names.ts)
    // of the peer it claims, and the exemption of that peer's connection,
    // are not its to spend
    const source: AddressSource = vouched
      ? { peer: announcement.peer, reach: this.reach(announcement.peer, propagationSource) }
      : { reach: this.reach(undefined, propagationSource) }
    const kept = announcement.multiaddrs.filter(ma => this.options.incomingAddressFilter(ma, source))
    this.metrics.filteredAddresses += announcement.multiaddrs.length - kept.length

    return { action: 'accept', announcement: { ...announcement, multiaddrs: kept, connected, source } }
  }

  /**
   * A1: the narrowest scope we reach `author` over; if we have no
   * connection to it, the scope we reach the peer that forwarded its
   * message over
   */
  private reach (author: PeerId | undefined, via?: PeerId): AddressScope {
    const own = author == null ? [] : this.host.connections(author)
    const through = own.length > 0 || via == null ? own : this.host.connections(via)
    return reachOver(through.map(c => c.remoteAddr))
  }
}
