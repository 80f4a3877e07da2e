/**
 * The server profile's connection gater: a server on the internet dials
 * public addresses only. Addresses learned from peers (identify, DHT,
 * pubsub discovery) can point anywhere, and a server that dials the private
 * ranges of the network it sits in, or its own Unix sockets, can be steered
 * into probing them.
 *
 * - IPv4: denied when private, loopback, link-local, shared (100.64/10),
 * reserved or multicast (224/4);
 * - IPv6: only global unicast (2000::/3) that is not private or
 * documentation; an IPv4 address embedded in IPv4-mapped (`::ffff:0:0/96`)
 * or NAT64 (`64:ff9b::/96`) form is judged as that IPv4 address;
 * - names (`/dns`, `/dns4`, `/dns6`): the TCP and WebSockets transports
 * resolve them themselves, after the gater. `localhost` (any case, any
 * subdomain) is denied; with `lookup` (the server profile passes one), a
 * name is denied when it resolves to nothing, fails to resolve, or resolves
 * to any address denied above; without it (a browser), other names are
 * allowed. A name that resolves to a public address here and to a private
 * one at dial time (DNS rebinding) is not caught;
 * - `/unix` sockets: always denied;
 * - `/dnsaddr`: allowed (libp2p resolves it before dialling, and gates each
 * result); relayed addresses without a transport part: allowed (the relay
 * is dialled, and gated, on its own).
 */
import { isGlobalUnicastIp, isPrivateIp, tryGetNetConfig } from '@libp2p/utils'
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PublicDialsOnlyInit {
  /**
   * Resolves a host name to its IP addresses as the transports will (in Node,
   * `getaddrinfo` through `dns.lookup`); the server profile passes one
   *
   * @default undefined (names other than localhost are allowed unresolved)
   */
  lookup?(host: string): Promise<string[]>
}

/** Denies dials to loopback, private (RFC 1918, ULA), link-local, multicast and local-socket addresses; allows the rest */
export function publicDialsOnly (init: PublicDialsOnlyInit = {}): ConnectionGater {
  return {
    denyDialMultiaddr: async (ma: Multiaddr) => {
      if (ma.getComponents().some(c => c.name === 'unix')) {
        return true
      }

      const config = tryGetNetConfig(ma)

      if (config == null) {
        // not an IP address or a name (memory, a relayed address...)
        return false
      }

      if (config.type === 'ip4' || config.type === 'ip6') {
        return ('zone' in config && config.zone != null) || deniedIp(config.host)
      }

      if (config.type === 'dnsaddr') {
        return false
      }

      const host = config.host.toLowerCase().replace(/\.$/, '')

      if (host === 'localhost' || host.endsWith('.localhost')) {
        return true
      }

      if (init.lookup == null) {
        return false
      }

      try {
        const addresses = await init.lookup(config.host)
        return addresses.length === 0 || addresses.some(deniedIp)
      } catch {
        return true
      }
    }
  }
}

const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
const EMBEDDED = /^(?:::ffff:|64:ff9b::)(?:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i

function deniedIp (ip: string): boolean {
  if (DOTTED.test(ip)) {
    return isPrivateIp(ip) === true || Number(ip.split('.')[0]) >= 224
  }

  const embedded = EMBEDDED.exec(ip)

  if (embedded != null) {
    const v4 = embedded[1] ?? [embedded[2], embedded[3]].map(h => { const n = parseInt(h, 16); return `${n >> 8}.${n & 0xff}` }).join('.')
    return deniedIp(v4)
  }

  return isPrivateIp(ip) === true || !isGlobalUnicastIp(ip)
}
