/**
 * Peer exchange: our announcements carry our signed peer record, and, when
 * a peer connected to us is joining, the records of peers we heard lately.
 * Records we receive are verified before anything is learned from them,
 * within a node-wide budget of verifications (PROTOCOL.md, "Peer exchange").
 */
import { Budget } from './budget.ts'
import * as C from './constants.ts'
import { FIELD_OVERHEAD, openRecord, peekRecord, RecordStore } from './peer-records.ts'
import { SelfRecord } from './self-record.ts'
import type { AddressSource } from './address-filter.ts'
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
  /** Signature verifications per interval, node-wide */
  maxVerificationsPerInterval: number
  interval: number
}

/** Where a received announcement came from */
export interface AnnouncementContext {
  /** Its author is connected to us: its relayed records are taken */
  connected: boolean
  /** For the incoming address filter */
  source: AddressSource
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
  /** A peer learned from a record another peer relayed (addresses not yet filtered) */
  learned(peer: PeerId, multiaddrs: Multiaddr[], source: AddressSource): void
  /** Whether the incoming address filter keeps every one of these addresses (DNS names resolved: names.ts) */
  acceptsAll(multiaddrs: Multiaddr[], source: AddressSource): Promise<boolean>
  drop(reason: DropReason): void
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
  /** Peers learned from each relaying author while we are joining */
  private readonly learnedFrom = new Map<string, number>()
  private readonly verifications: Budget
  /** Bumped on reset: verifications that started before it are ignored */
  private generation = 0

  constructor (components: PeerExchangeComponents, options: PeerExchangeOptions, host: PeerExchangeHost, log: Logger) {
    this.components = components
    this.options = options
    this.host = host
    this.log = log
    this.records = new RecordStore(options.maxPeers)
    this.self = components.privateKey == null ? undefined : new SelfRecord(components.peerId, components.privateKey, log)
    this.verifications = new Budget(options.maxVerificationsPerInterval, options.interval)
  }

  /**
   * Our record of the `certified` addresses (if sealed and it fits), and,
   * if `carry`, others' (none of `exclude`), within `budget` bytes
   */
  outgoing (certified: Multiaddr[], budget: number, now: number, ttl: number, carry: boolean, exclude: Set<string>): OutgoingRecords {
    const sealed = this.self?.current(certified) as Uint8Array<ArrayBuffer> | undefined
    const signedPeerRecord = sealed != null && sealed.byteLength + FIELD_OVERHEAD <= budget ? sealed : undefined
    const left = budget - (signedPeerRecord == null ? 0 : signedPeerRecord.byteLength + FIELD_OVERHEAD)
    const peerRecords = carry && this.options.maxExchangedPeers > 0
      ? this.records.pick(this.options.maxExchangedPeers, left, now, ttl, exclude) as Array<Uint8Array<ArrayBuffer>>
      : []

    return { signedPeerRecord, peerRecords }
  }

  /** Whether we seal records of our own (we have our private key) */
  get sealsOwnRecord (): boolean {
    return this.self != null
  }

  /** Settles once our record of the addresses last asked for by `outgoing` is sealed (or sealing failed) */
  async ownRecordSealed (): Promise<void> {
    await this.self?.whenSealed()
  }

  /**
   * Whether the announcement's own record is older than the one we hold of
   * its author (a replayed record would bring back stale addresses)
   */
  stale (announcement: Announcement): boolean {
    const held = this.records.seq(announcement.peer)
    const seq = announcement.signedPeerRecord == null ? undefined : peekRecord(announcement.signedPeerRecord)?.seq
    return held != null && seq != null && seq < held
  }

  /** Takes the records of a valid announcement; verification runs in the background */
  receive (announcement: Announcement, now: number, context: AnnouncementContext): void {
    this.records.heard(announcement.peer, now)

    if (announcement.signedPeerRecord != null && !this.records.holds(announcement.peer, announcement.signedPeerRecord)) {
      void this.takeOwnRecord(announcement.peer, announcement.signedPeerRecord, context.source)
    }

    if (announcement.peerRecords.length === 0) {
      return
    }

    // relayed records are taken only from peers connected to us: a peer
    // must hold a connection to make us try the peers it names
    if (!context.connected) {
      this.host.drop('relay-not-connected')
      return
    }

    void this.takeRelayedRecords(announcement.peer, announcement.peerRecords, context.source)
  }

  /**
   * Whether relayed `records` of `author` name a peer we would learn from
   * them (D2): the triage of `takeRelayedRecords` without verifying, so
   * records it would never open teach nothing (after one that does not
   * decode, of ourselves or the author, of a peer we know, none of whose
   * addresses `keeps`, or from an author we learned MAX_LEARNED_PER_RELAY
   * peers from). Not verified: a liar's forged records keep the joiner
   * asking, within D2's bounds (MAX_EXCHANGES_OPENED, while joining)
   */
  namesUnknownPeer (author: PeerId, records: Uint8Array[], keeps: (multiaddr: Multiaddr) => boolean): boolean {
    if ((this.learnedFrom.get(author.toString()) ?? 0) >= C.MAX_LEARNED_PER_RELAY) {
      return false
    }

    for (const bytes of records) {
      if (this.records.holdsRecord(bytes)) {
        continue
      }

      const peeked = peekRecord(bytes)

      // the triage ends the message's records there (R14)
      if (peeked == null) {
        return false
      }

      const { signer, multiaddrs } = peeked

      if (!signer.equals(this.components.peerId) && !signer.equals(author) && !this.host.knows(signer) && multiaddrs.some(keeps)) {
        return true
      }
    }

    return false
  }

  /** Forgets verifications in flight (on stop) */
  reset (): void {
    this.opening.clear()
    this.learnedFrom.clear()
    this.verifications.reset()
    this.generation++
  }

  clear (): void {
    this.reset()
    this.records.clear()
    this.self?.clear()
  }

  /** Whether a relayed record is worth verifying: a peer we may learn */
  private worthOpening (bytes: Uint8Array, { signer, seq }: { signer: PeerId, seq: bigint }, author: PeerId): boolean {
    if (this.records.holds(signer, bytes)) {
      return false
    }

    const held = this.records.seq(signer)

    if (held != null && seq < held) {
      this.host.drop('stale-record')
      return false
    }

    return !signer.equals(this.components.peerId) && !signer.equals(author) && !this.opening.has(signer.toString()) && !this.host.knows(signer)
  }

  /** Takes one signature verification from the node-wide budget */
  private mayVerify (): boolean {
    if (this.verifications.take(Date.now())) {
      return true
    }

    this.host.drop('over-budget')
    return false
  }

  /**
   * The author's own record: relayable once verified, and stored as
   * certified addresses if the incoming filter keeps all of them (a signed
   * record cannot be stored in part)
   */
  private async takeOwnRecord (author: PeerId, bytes: Uint8Array, source: AddressSource): Promise<void> {
    const generation = this.generation

    if (!this.mayVerify()) {
      return
    }

    const opened = await openRecord(bytes, this.options.maxAddresses)

    if (generation !== this.generation || !this.host.isStarted()) {
      return
    }

    if (typeof opened === 'string' || !opened.peer.equals(author)) {
      this.host.drop(typeof opened === 'string' ? opened : 'invalid-record')
      return
    }

    if (!this.records.set(author, bytes, opened.seq, Date.now()) || !(await this.host.acceptsAll(opened.multiaddrs, source))) {
      return
    }

    if (generation === this.generation && this.host.isStarted()) {
      this.components.peerStore?.consumePeerRecord(bytes, { expectedPeer: author }).catch(err => {
        this.log('could not store the peer record of %p - %e', author, err)
      })
    }
  }

  /**
   * Records relayed by `author` (connected to us): only those of peers we
   * do not know are verified, one by one, and at most
   * MAX_LEARNED_PER_RELAY peers are learned from one author while we join;
   * the first bad record ends the message's
   */
  private async takeRelayedRecords (author: PeerId, records: Uint8Array[], source: AddressSource): Promise<void> {
    // R14: only while we join; past it the records are not even decoded
    // (peeking one validates its key: 95 records of secp256k1 keys, 16.7 KB,
    // took 49 ms, from each author connected to us, within its rate, for as
    // long as it is connected)
    if (!this.host.joining()) {
      return
    }

    const generation = this.generation
    const relay = author.toString()

    for (const bytes of records) {
      // R14: one we hold byte for byte is verified already, and tells nothing new
      if (this.records.holdsRecord(bytes)) {
        continue
      }

      const peeked = peekRecord(bytes)

      if (peeked == null) {
        this.host.drop('invalid-record')
        return
      }

      if (!this.worthOpening(bytes, peeked, author)) {
        continue
      }

      if ((this.learnedFrom.get(relay) ?? 0) >= C.MAX_LEARNED_PER_RELAY || !this.mayVerify()) {
        return
      }

      const key = peeked.signer.toString()
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
        if (!this.learnedFrom.has(relay) && this.learnedFrom.size >= C.MAX_TRACKED_RELAYS) {
          this.learnedFrom.delete(this.learnedFrom.keys().next().value as string)
        }
        this.learnedFrom.set(relay, (this.learnedFrom.get(relay) ?? 0) + 1)
        this.host.learned(opened.peer, opened.multiaddrs, source)
      }
    }
  }
}
