/**
 * Our announcement (PROTOCOL.md A3, X1): the addresses the address filter
 * keeps, at most `maxAddresses`, as many as fit in `maxMessageSize`
 * together with our signed record of exactly those, and the records of
 * others when a join asks for them.
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { Peer } from './pb/peer.ts'
import { recordSize } from './peer-records.ts'
import type { AddressFilter } from './address-filter.ts'
import type { OutgoingRecords } from './peer-exchange.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface OwnAnnouncementInit {
  peerId: PeerId
  /** Our addresses, from the address manager */
  addresses: Multiaddr[]
  addressFilter: AddressFilter
  maxAddresses: number
  maxMessageSize: number
  /** Our record of `certified` and others' records, within `budget` bytes */
  records(certified: Multiaddr[], budget: number): OutgoingRecords
}

export interface OwnAnnouncement {
  data: Uint8Array
  /** Addresses announced, of all ours */
  addresses: number
  /** Others' records carried */
  records: number
  /** Whether it carries our record of its addresses (none while the record is being sealed) */
  certified: boolean
}

export function encodeOwnAnnouncement (init: OwnAnnouncementInit): OwnAnnouncement {
  const publicKey = init.peerId.publicKey

  if (publicKey == null) {
    throw new Error('our peer id has no public key to announce')
  }

  const announced = init.addresses.filter(ma => init.addressFilter(ma)).slice(0, init.maxAddresses)
  const message: Peer = { publicKey: publicKeyToProtobuf(publicKey) as Uint8Array<ArrayBuffer>, addrs: announced.map(ma => ma.bytes as Uint8Array<ArrayBuffer>), peerRecords: [] }

  // room for our record of these addresses too (it repeats them)
  while (message.addrs.length > 0 && Peer.encode(message).byteLength + recordSize(message.addrs) > init.maxMessageSize) {
    message.addrs.pop()
  }

  // our record certifies exactly what we announce
  const certified = announced.slice(0, message.addrs.length)
  Object.assign(message, init.records(certified, init.maxMessageSize - Peer.encode(message).byteLength))

  return { data: Peer.encode(message), addresses: message.addrs.length, records: message.peerRecords.length, certified: message.signedPeerRecord != null }
}
