/**
 * Peer exchange: our announcements carry our signed peer record, and, when
 * a peer connected to us is joining, the records of peers we heard lately
 * (see `index.ts`, "Joining"). Records we receive are verified before
 * anything is learned from them; work on bad input is bounded.
 */
import * as C from './constants.ts'
import { FIELD_OVERHEAD, openRecord, recordSigner, RecordStore } from './peer-records.ts'
import { SelfRecord } from './self-record.ts'
import type { Announcement, DropReason } from './validate.ts'
import type { Logger, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PeerExchangeComponents {
  peerId: PeerId
  privateKey?: PrivateKey
  peerStore?: PeerStore
}

export interface PeerExchangeOptions {
  /** Records one announcement carries, 0 to carry none */
  maxExchangedPeers: number
  maxAddresses: number
  /** Records kept, one per peer */
  maxPeers: number
  /** How long after a join our announcements may carry records for it, ms */
  joinWindow: number
}

/** What the exchange needs from the module */
export interface PeerExchangeHost {
  /** Whether we heard the peer lately (directly or through a record) */
  knows(peer: PeerId): boolean
  /**
   * Whether we learn peers from relayed records now: while we are joining
   * (a long-running node learns newcomers from their own announcements, and
   * is no target for floods of relayed records)
   */
  joining(): boolean
  /** A peer learned from a record another peer relayed */
  learned(peer: PeerId, multiaddrs: Multiaddr[]): void
  drop(reason: DropReason): void
  /** A relay carried our own record to the peers joining now */
  relayedUs(): void
  isStarted(): boolean
}

export interface OutgoingRecords {
  signedPeerRecord?: Uint8Array<ArrayBuffer>
  peerRecords: Array<Uint8Array<ArrayBuffer>>
}

export class PeerExchange {
  private readonly components: PeerExchangeComponents
  private readonly options: PeerExchangeOptions
  private readonly host: PeerExchangeHost
  private readonly log: Logger
  private readonly records: RecordStore
  private readonly self?: SelfRecord
  /** Peers whose relayed record is being verified: one at a time each */
  private readonly opening = new Set<string>()
  /**
   * Our next announcements that carry other peers' records: set when a
   * peer connected to us joins (our publishes reach it directly), until
   * `dueUntil`
   */
  private due = 0
  private dueUntil = 0
  /** The peers whose join made records due */
  private readonly joiners = new Set<string>()
  /** The most records another peer relayed in one message since then */
  private largestHeard = 0
  /** Bumped on reset: verifications that started before it are ignored */
  private generation = 0

  constructor (components: PeerExchangeComponents, options: PeerExchangeOptions, host: PeerExchangeHost, log: Logger) {
    this.components = components
    this.options = options
    this.host = host
    this.log = log
    this.records = new RecordStore(options.maxPeers)
    this.self = components.privateKey == null ? undefined : new SelfRecord(components.peerId, components.privateKey, log)
  }

  /** A peer connected to us joined: our next announcements carry records */
  joinerConnected (peer: PeerId, now: number): void {
    if (this.due === 0 || now >= this.dueUntil) {
      this.joiners.clear()
    }

    this.due = C.EXCHANGES_PER_JOIN
    this.dueUntil = now + this.options.joinWindow
    this.largestHeard = 0

    if (this.joiners.size < C.MAX_TRACKED_JOINERS) {
      this.joiners.add(peer.toString())
    }
  }

  /**
   * Our record of the `certified` addresses (if sealed and it fits), and,
   * if a joining peer is due records, others', within `budget` bytes
   */
  outgoing (certified: Multiaddr[] | undefined, budget: number, now: number, ttl: number): OutgoingRecords {
    // another peer relayed as many records as we could since the join,
    // most likely to the same joiner (records go out only when a peer
    // connected to the relay joins): the nodes around a joiner do not all
    // send the same records, while a node that knows more keeps sending
    if (this.due > 0 && (now >= this.dueUntil || (this.largestHeard > 0 && this.largestHeard >= this.relayable(now, ttl)))) {
      this.due = 0
    }

    const sealed = certified == null ? undefined : this.self?.current(certified) as Uint8Array<ArrayBuffer> | undefined
    const signedPeerRecord = sealed != null && sealed.byteLength + FIELD_OVERHEAD <= budget ? sealed : undefined
    const left = budget - (signedPeerRecord == null ? 0 : signedPeerRecord.byteLength + FIELD_OVERHEAD)
    const peerRecords = this.due > 0 && this.options.maxExchangedPeers > 0
      ? this.records.pick(this.options.maxExchangedPeers, left, now, ttl, this.excluded()) as Array<Uint8Array<ArrayBuffer>>
      : []

    return { signedPeerRecord, peerRecords }
  }

  /**
   * Our own record is never relayed, nor a lone joiner's back to the topic
   * (it knows itself); when several join at once (a swarm starting), they
   * need each other's
   */
  private excluded (): Set<string> {
    const excluded = new Set([this.components.peerId.toString()])

    if (this.joiners.size === 1) {
      excluded.add(this.joiners.values().next().value as string)
    }

    return excluded
  }

  /**
   * We published records of others: one fewer announcement is due (one
   * without records, right after start, does not count)
   */
  sent (records: number): void {
    if (records > 0 && this.due > 0) {
      this.due--
    }
  }

  /** How many records one announcement of ours would carry now */
  private relayable (now: number, ttl: number): number {
    return Math.min(this.records.relayable(now, ttl, this.excluded()), this.options.maxExchangedPeers)
  }

  /** Takes the records of a valid announcement; verification runs in the background */
  receive (announcement: Announcement, now: number): void {
    this.records.heard(announcement.peer, now)
    this.largestHeard = Math.max(this.largestHeard, announcement.peerRecords.length)

    if (announcement.signedPeerRecord != null && !this.records.holds(announcement.peer, announcement.signedPeerRecord)) {
      void this.takeOwnRecord(announcement.peer, announcement.signedPeerRecord)
    }

    if (announcement.peerRecords.length > 0) {
      void this.takeRelayedRecords(announcement.peer, announcement.peerRecords)
    }
  }

  /** Forgets the joins (on stop) */
  reset (): void {
    this.due = 0
    this.dueUntil = 0
    this.largestHeard = 0
    this.joiners.clear()
    this.opening.clear()
    this.generation++
  }

  clear (): void {
    this.reset()
    this.records.clear()
    this.self?.clear()
  }

  /** The author's own record: relayable once verified, and stored as certified addresses */
  private async takeOwnRecord (author: PeerId, bytes: Uint8Array): Promise<void> {
    const generation = this.generation
    const opened = await openRecord(bytes, this.options.maxAddresses)

    if (generation !== this.generation || !this.host.isStarted()) {
      return
    }

    if (typeof opened === 'string' || !opened.peer.equals(author)) {
      this.host.drop(typeof opened === 'string' ? opened : 'invalid-record')
      return
    }

    if (this.records.set(author, bytes, opened.seq, Date.now())) {
      this.components.peerStore?.consumePeerRecord(bytes, { expectedPeer: author }).catch(err => {
        this.log('could not store the peer record of %p - %e', author, err)
      })
    }
  }

  /**
   * Records relayed by `author`: only those of peers we do not know are
   * verified, one by one; the first bad record ends the message's
   */
  private async takeRelayedRecords (author: PeerId, records: Uint8Array[]): Promise<void> {
    const generation = this.generation
    const learning = this.host.joining()

    for (const bytes of records) {
      const signer = recordSigner(bytes)

      if (signer == null) {
        this.host.drop('invalid-record')
        return
      }

      const key = signer.toString()

      if (signer.equals(this.components.peerId)) {
        // only the record we sealed counts: a forged one could silence us
        if (this.self?.isOurs(bytes) === true) {
          this.host.relayedUs()
        }
        continue
      }

      if (!learning || signer.equals(author) || this.opening.has(key) || this.host.knows(signer)) {
        continue
      }

      this.opening.add(key)
      const opened = await openRecord(bytes, this.options.maxAddresses).finally(() => this.opening.delete(key))

      if (generation !== this.generation || !this.host.isStarted()) {
        return
      }

      if (typeof opened === 'string') {
        this.host.drop(opened)
        return
      }

      // a record without addresses tells nothing
      if (opened.multiaddrs.length > 0 && !this.host.knows(opened.peer)) {
        this.host.learned(opened.peer, opened.multiaddrs)
      }
    }
  }
}
