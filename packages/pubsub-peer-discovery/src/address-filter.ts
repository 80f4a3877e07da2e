/**
 * Which addresses we announce (`addressFilter`) and which addresses of
 * other peers we accept (`incomingAddressFilter`), by scope.
 *
 * A scope says who can use an address: `loopback` (this machine),
 * `private` (this network: RFC 1918, CGNAT, unique-local, and the other
 * special-purpose ranges `@libp2p/utils` knows) or `public`. Unspecified,
 * multicast, link-local and zoned addresses have no scope: nobody can dial
 * them (see PROTOCOL.md, "Addresses").
 */
import { isLinkLocal, isLoopback, isPrivate, tryGetNetConfig } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type AddressScope = 'loopback' | 'private' | 'public'

/** Where an address came from, for `incomingAddressFilter` */
export interface AddressSource {
  /** The peer that announced or relayed it; none for an unsigned message (allowUnsigned) not sent to us by the peer whose key it carries */
  peer?: PeerId
  /**
   * The narrowest scope over which we reach that peer (or, if we have no
   * connection to it, the peer that forwarded its message to us):
   * `loopback` when over loopback, `private` over a private address,
   * `public` otherwise
   */
  reach: AddressScope
}

/**
 * Filters our own addresses (`source` absent) or other peers' (`source`
 * present): return true to keep the address
 */
export type AddressFilter = (multiaddr: Multiaddr, source?: AddressSource) => boolean

const RANK: Record<AddressScope, number> = { loopback: 0, private: 1, public: 2 }

function unusableHost (host: string, family: string): boolean {
  if (family === 'ip4') {
    const first = Number(host.split('.')[0])
    // unspecified; multicast 224/4 (not among @libp2p/utils' private ranges)
    return host === '0.0.0.0' || (first >= 224 && first <= 239)
  }

  const h = host.toLowerCase()
  // unspecified; multicast ff00::/8; link-local fe80::/10 (isLinkLocal
  // checks only the fe80 prefix of it)
  return h === '::' || /^ff[0-9a-f]{2}:/.test(h) || /^fe[89ab][0-9a-f]:/.test(h)
}

/** The IPv4 address of an IPv4-mapped IPv6 one (`::ffff:a.b.c.d`, `::ffff:hhhh:hhhh`) */
function mappedIPv4 (host: string): string | undefined {
  const h = host.toLowerCase()
  const dotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(h)

  if (dotted != null) {
    return dotted[1]
  }

  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h)

  if (hex == null) {
    return undefined
  }

  const high = parseInt(hex[1], 16)
  const low = parseInt(hex[2], 16)
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
}

/**
 * The scope of an address, by its first network part (so a relayed address
 * has its relay's scope); undefined when nobody can dial it
 */
export function addressScope (ma: Multiaddr): AddressScope | undefined {
  const config = tryGetNetConfig(ma)

  if (config == null) {
    // no IP or DNS part (/memory, /unix): this machine only; a bare
    // /p2p/.../p2p-circuit address needs a connection to the relay anyway
    const names = ma.getComponents().map(c => c.name)
    return names.includes('unix') || names.includes('memory') ? 'loopback' : 'public'
  }

  if ('zone' in config && config.zone != null) {
    return undefined
  }

  if (config.type === 'ip6') {
    const v4 = mappedIPv4(config.host)

    // an IPv4-mapped IPv6 address reaches its IPv4 address
    if (v4 != null) {
      return addressScope(multiaddr(`/ip4/${v4}`))
    }
  }

  if (config.type === 'ip4' || config.type === 'ip6') {
    if (unusableHost(config.host, config.type) || isLinkLocal(ma)) {
      return undefined
    }

    if (isLoopback(ma)) {
      return 'loopback'
    }
  }

  // names are case-insensitive, and may end with the root's dot
  const host = config.host.toLowerCase().replace(/\.$/, '')

  if (host === 'localhost' || host.endsWith('.localhost')) {
    return 'loopback'
  }

  return isPrivate(ma) ? 'private' : 'public'
}

/** The narrowest scope among the addresses we reach a peer over; `public` if none */
export function reachOver (remoteAddrs: Array<Multiaddr | undefined>): AddressScope {
  let reach: AddressScope = 'public'

  for (const ma of remoteAddrs) {
    if (ma == null) {
      continue
    }

    // a relayed connection reaches the relay, not the peer
    const scope = ma.toString().includes('/p2p-circuit') ? 'public' : addressScope(ma) ?? 'public'

    if (RANK[scope] < RANK[reach]) {
      reach = scope
    }
  }

  return reach
}

/** Everything: the default for our own addresses */
export const allAddresses: AddressFilter = () => true

/**
 * Public addresses only: drops loopback, private, link-local, unspecified,
 * multicast and zoned ones, which mean nothing to peers elsewhere (a relay
 * address counts by its relay's address). For our own announcement on a
 * public topic, or for the incoming filter of a node that must never dial
 * a private address.
 */
export const publicAddressesOnly: AddressFilter = (ma) => addressScope(ma) === 'public'

/**
 * The default incoming filter: an address of scope S is accepted only from
 * a peer we reach over S or a narrower scope (a peer on our machine may
 * tell us loopback, private and public addresses; one on our network
 * private and public ones; any other peer public ones only). Addresses
 * nobody can dial are never accepted. Works on one machine and on a LAN.
 */
export const scopedAddresses: AddressFilter = (ma, source) => {
  const scope = addressScope(ma)
  return scope != null && RANK[scope] >= RANK[source?.reach ?? 'public']
}
