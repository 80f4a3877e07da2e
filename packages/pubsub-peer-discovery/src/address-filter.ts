/**
 * Which of our own addresses are announced.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

export type AddressFilter = (multiaddr: Multiaddr) => boolean

/** The default: everything the address manager reports */
export const allAddresses: AddressFilter = () => true

const PRIVATE_V4 = [
  /^10\./, /^127\./, /^169\.254\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./, /^0\./
]

function isPrivateHost (host: string, family: string): boolean {
  if (family === 'ip4') {
    return PRIVATE_V4.some(re => re.test(host))
  }

  if (family === 'ip6') {
    const h = host.toLowerCase()
    return h === '::1' || h === '::' || h.startsWith('fe80:') || h.startsWith('fc') || h.startsWith('fd')
  }

  return false
}

/**
 * A preset for public topics: drops loopback, private (RFC 1918, CGNAT,
 * unique-local) and link-local addresses, which mean nothing to peers
 * elsewhere. Relay (`/p2p-circuit`) and DNS addresses pass.
 */
export const publicAddressesOnly: AddressFilter = (ma) => {
  const [first] = ma.getComponents()

  if (first == null || (first.name !== 'ip4' && first.name !== 'ip6')) {
    return true
  }

  if (ma.toString().includes('/p2p-circuit')) {
    return true
  }

  return !isPrivateHost(first.value ?? '', first.name)
}
