/**
 * Turns a pubsub message into a discovered peer, or says why it was
 * dropped. Nothing here throws: every failure is a reason.
 */
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Peer } from './pb/peer.ts'
import type { AddressSource } from './address-filter.ts'
import type { PubSubMessage } from './pubsub.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Why a message was dropped (see PROTOCOL.md, "Receiving"); `invalid-record`,
 * `stale-record` and `over-budget` also count relayed or own signed peer
 * records one by one (a bad record does not drop its message), and so does
 * `too-many-addresses` for a record with more than `maxAddresses`;
 * `relay-not-connected` counts messages whose relayed records were ignored
 * because their author is not connected to us; `exchange-failed` counts
 * direct exchanges (PROTOCOL.md D1-D5) that failed or timed out
 */
export type DropReason = 'oversized' | 'undecodable' | 'too-many-addresses' | 'too-many-records' | 'invalid-key' | 'invalid-address' | 'unsigned' | 'spoofed' | 'self' | 'rate-limited' | 'replayed' | 'over-budget' | 'invalid-record' | 'stale-record' | 'relay-not-connected' | 'exchange-failed'

export const DROP_REASONS: readonly DropReason[] = ['oversized', 'undecodable', 'too-many-addresses', 'too-many-records', 'invalid-key', 'invalid-address', 'unsigned', 'spoofed', 'self', 'rate-limited', 'replayed', 'over-budget', 'invalid-record', 'stale-record', 'relay-not-connected', 'exchange-failed']

export interface Announcement {
  peer: PeerId
  multiaddrs: Multiaddr[]
  /** The announcing peer's signed peer record, not yet verified */
  signedPeerRecord?: Uint8Array
  /** Other peers' signed peer records, not yet verified */
  peerRecords: Uint8Array[]
  /** Set once accepted: whether the author is connected to us */
  connected?: boolean
  /** Set once accepted: for the incoming address filter */
  source?: AddressSource
}

export interface ValidationLimits {
  maxMessageSize: number
  maxAddresses: number
  /** Relayed records accepted in one message */
  maxPeerRecords: number
  allowUnsigned: boolean
}

export function validateAnnouncement (message: PubSubMessage, self: PeerId, limits: ValidationLimits): Announcement | DropReason {
  if (message.data.byteLength > limits.maxMessageSize) {
    return 'oversized'
  }

  if (message.type !== 'signed' && !limits.allowUnsigned) {
    return 'unsigned'
  }

  let decoded: Peer

  try {
    decoded = Peer.decode(message.data, { limits: { addrs: limits.maxAddresses, peerRecords: limits.maxPeerRecords } })
  } catch (err: any) {
    if (err?.name !== 'MaxLengthError') {
      return 'undecodable'
    }

    return String(err.message).includes('peerRecords') ? 'too-many-records' : 'too-many-addresses'
  }

  let peer: PeerId

  try {
    peer = peerIdFromPublicKey(publicKeyFromProtobuf(decoded.publicKey))
  } catch {
    return 'invalid-key'
  }

  if (peer.equals(self)) {
    return 'self'
  }

  // the announced key must be the gossipsub author's: anyone can sign a
  // message, nobody can sign as someone else
  if (message.type === 'signed' && (message.from == null || !message.from.equals(peer))) {
    return 'spoofed'
  }

  const multiaddrs: Multiaddr[] = []

  for (const bytes of decoded.addrs) {
    try {
      multiaddrs.push(multiaddr(bytes))
    } catch {
      return 'invalid-address'
    }
  }

  return { peer, multiaddrs, signedPeerRecord: decoded.signedPeerRecord, peerRecords: decoded.peerRecords }
}
