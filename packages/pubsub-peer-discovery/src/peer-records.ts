/**
 * Signed peer records: opening the ones we receive, and keeping the latest
 * one each peer announced itself, so we can relay it to peers that join
 * (peer exchange).
 *
 * A record is a libp2p `RecordEnvelope` holding a `PeerRecord`, signed by
 * the peer it describes: whoever relays it can neither forge nor alter it,
 * only replay it. Replays are bounded: we relay only records whose peer we
 * heard announce itself within the ttl, never ones we were relayed.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { equals as equalBytes } from 'uint8arrays/equals'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type RecordDropReason = 'invalid-record' | 'too-many-addresses'

/** Bytes a repeated or optional bytes field adds besides its value (tag and length prefix) */
export const FIELD_OVERHEAD = 4

/**
 * Bytes of a record of these addresses, at most: the addresses, and the
 * envelope (key, signature, peer id, sequence number, framing)
 */
export function recordSize (addrs: Uint8Array[]): number {
  return addrs.reduce((sum, a) => sum + a.byteLength + FIELD_OVERHEAD, 0) + RECORD_ENVELOPE_SIZE
}

/** A record envelope without its addresses, bytes, at most (Ed25519 or secp256k1 keys; RSA keys are larger and leave the record out) */
const RECORD_ENVELOPE_SIZE = 200

export interface OpenedRecord {
  peer: PeerId
  multiaddrs: Multiaddr[]
  seq: bigint
}

/**
 * The peer a record claims to be signed by, its sequence number and the
 * addresses it claims, without checking the signature: cheap, to skip
 * records of peers we know already and records older than the one we hold
 */
export function peekRecord (bytes: Uint8Array): { signer: PeerId, seq: bigint, multiaddrs: Multiaddr[] } | undefined {
  try {
    const envelope = RecordEnvelope.createFromProtobuf(bytes)
    const record = PeerRecord.createFromProtobuf(envelope.payload)
    return { signer: peerIdFromPublicKey(envelope.publicKey), seq: record.seqNumber, multiaddrs: record.multiaddrs }
  } catch {
    return undefined
  }
}

/** Verifies a record's signature and decodes it; never throws */
export async function openRecord (bytes: Uint8Array, maxAddresses: number): Promise<OpenedRecord | RecordDropReason> {
  try {
    const envelope = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
    const record = PeerRecord.createFromProtobuf(envelope.payload)
    const signer = peerIdFromPublicKey(envelope.publicKey)

    // the envelope's key must be the key of the peer the record describes
    if (!record.peerId.equals(signer)) {
      return 'invalid-record'
    }

    if (record.multiaddrs.length > maxAddresses) {
      return 'too-many-addresses'
    }

    return { peer: record.peerId, multiaddrs: record.multiaddrs, seq: record.seqNumber }
  } catch {
    return 'invalid-record'
  }
}

interface StoredRecord {
  bytes: Uint8Array
  /** Its digest, its key in `byContent` */
  content: number
  seq: bigint
  /** When the peer last announced itself (with this or an older record) */
  heard: number
}

/**
 * The latest record each peer announced itself: bounded (least recently
 * heard dropped first), relayed only while the peer is heard within a ttl
 */
export class RecordStore {
  private readonly records = new Map<string, StoredRecord>()
  /**
   * The records held, by a digest of their bytes, to the peer each is of: a
   * relayed record we hold byte for byte is recognized without being
   * decoded (R14). In a forming topic nearly every relayed record is one we
   * hold, and decoding one (its envelope, its peer id, its addresses) costs
   * about as much as the rest of the message. Bounded with `records`.
   *
   * A digest, not the bytes (as base64): a key costs a few bytes whatever
   * the record's size, and V8 hashes a string longer than 16383 characters
   * by its length alone, so held records over 12 KB, all of one length (a
   * peer's own record may fill a 16 KB announcement), would share one hash
   * bucket and turn every lookup of that length into a walk over all of
   * them (7 ms a lookup with 1024 held of 15 KB, crafted to differ only
   * in their last 64 bytes). A digest only finds the candidate: the bytes
   * held are compared in full, and of two held records of one digest (only a
   * crafted record collides) the first keeps the key, the other is decoded
   * as it was before the index (and found held by its peer)
   */
  private readonly byContent = new Map<number, string>()
  private readonly maxRecords: number

  constructor (maxRecords: number) {
    this.maxRecords = maxRecords
  }

  /** The sequence number of the record we hold for the peer */
  seq (peer: PeerId): bigint | undefined {
    return this.records.get(peer.toString())?.seq
  }

  /** Whether `bytes` is a record we hold (of whichever peer), without decoding it */
  holdsRecord (bytes: Uint8Array): boolean {
    const key = this.byContent.get(digest(bytes))
    return key != null && this.holdsBytes(key, bytes)
  }

  /** Whether `bytes` is what we hold for the peer already (no need to open it again) */
  holds (peer: PeerId, bytes: Uint8Array): boolean {
    return this.holdsBytes(peer.toString(), bytes)
  }

  private holdsBytes (key: string, bytes: Uint8Array): boolean {
    const stored = this.records.get(key)
    return stored != null && equalBytes(stored.bytes, bytes)
  }

  /** The peer announced itself again: its record stays relayable */
  heard (peer: PeerId, now: number): void {
    const key = peer.toString()
    const stored = this.records.get(key)

    if (stored != null) {
      this.records.delete(key)
      stored.heard = now
      this.records.set(key, stored)
    }
  }

  /**
   * Keeps a verified record the peer announced itself, unless an older one.
   * It keeps a copy: a record decoded from a message is a view of the
   * buffer the message came in (a network read, a whole gossipsub RPC), and
   * holding the view would hold all of it, for every record held
   */
  set (peer: PeerId, bytes: Uint8Array, seq: bigint, now: number): boolean {
    const key = peer.toString()
    const stored = this.records.get(key)

    if (stored != null && stored.seq > seq) {
      return false
    }

    this.forget(key)
    const content = digest(bytes)
    // a copy (Buffer's slice() would be a view)
    this.records.set(key, { bytes: new Uint8Array(bytes), content, seq, heard: now })

    if (!this.byContent.has(content)) {
      this.byContent.set(content, key)
    }

    while (this.records.size > this.maxRecords) {
      this.forget(this.records.keys().next().value as string)
    }

    return true
  }

  private forget (key: string): void {
    const stored = this.records.get(key)

    if (stored != null) {
      this.records.delete(key)

      if (this.byContent.get(stored.content) === key) {
        this.byContent.delete(stored.content)
      }
    }
  }

  /**
   * Up to `max` records of peers heard within `ttl`, at random, whose sizes
   * add up to at most `budget` bytes; none of `exclude`
   */
  pick (max: number, budget: number, now: number, ttl: number, exclude: Set<string>, random: () => number = Math.random): Uint8Array[] {
    const candidates = this.candidates(now, ttl, exclude)

    // partial Fisher-Yates: a fresh random subset each time, so repeated
    // answers to a joining peer cover what a capped one left out
    const picked: Uint8Array[] = []
    let bytes = 0

    for (let i = 0; i < candidates.length && picked.length < max; i++) {
      const j = i + Math.floor(random() * (candidates.length - i))
      const chosen = candidates[j]
      candidates[j] = candidates[i]

      if (bytes + chosen.byteLength + FIELD_OVERHEAD > budget) {
        continue
      }

      bytes += chosen.byteLength + FIELD_OVERHEAD
      picked.push(chosen)
    }

    return picked
  }

  /** The records of peers heard within `ttl`, none of `exclude` */
  private candidates (now: number, ttl: number, exclude: Set<string>): Uint8Array[] {
    const candidates: Uint8Array[] = []

    for (const [key, stored] of this.records) {
      if (now - stored.heard <= ttl && !exclude.has(key)) {
        candidates.push(stored.bytes)
      }
    }

    return candidates
  }

  clear (): void {
    this.records.clear()
    this.byContent.clear()
  }
}

/**
 * FNV-1a (32 bits) of the bytes: a key for `RecordStore`'s index, never taken
 * as proof (the bytes are compared in full). It reads a plain Uint8Array
 * view: fed Buffers and Uint8Arrays alike (records come as both), the loop
 * turned polymorphic and ran 3-4 times slower (node 24)
 */
export function digest (input: Uint8Array): number {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  let hash = 0x811c9dc5

  for (let i = 0; i < bytes.length; i++) {
    hash = Math.imul(hash ^ bytes[i], 0x01000193)
  }

  return hash >>> 0
}
