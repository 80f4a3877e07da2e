/**
 * The server profile's connection gater: a server on the internet dials
 * public addresses only. Addresses learned from peers (identify, DHT,
 * pubsub discovery) can point anywhere, and a server that dials the private
 * ranges of the network it sits in can be steered into probing it.
 */
import { isPrivate } from '@libp2p/utils'
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Denies dials to loopback, private (RFC 1918, ULA) and link-local addresses; allows the rest */
export function publicDialsOnly (): ConnectionGater {
  return {
    denyDialMultiaddr: (ma: Multiaddr) => {
      try {
        return isPrivate(ma) === true
      } catch {
        // not an IP address (DNS, memory...): libp2p resolves DNS before dialling each result
        return false
      }
    }
  }
}
