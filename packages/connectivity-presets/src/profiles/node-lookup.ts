/**
 * Host name resolution as Node's TCP and WebSockets dials do it
 * (`getaddrinfo`, `/etc/hosts` included), for the server profile's gater.
 */
import { lookup } from 'node:dns/promises'

/** Every address `host` resolves to, IPv4 and IPv6 */
export async function nodeLookup (host: string): Promise<string[]> {
  const found = await lookup(host, { all: true })
  return found.map(f => f.address)
}
