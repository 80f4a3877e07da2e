/**
 * The DCUtR exchange on a stream over the relayed connection (libp2p/specs
 * relay/DCUtR.md): the initiator sends CONNECT with its addresses and times
 * the peer's CONNECT reply (the RTT), then sends SYNC; the receiver answers
 * CONNECT with its addresses and waits for SYNC.
 */
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_CONNECT_ADDRS, MAX_DIALLED_ADDRS, MAX_MESSAGE_SIZE } from './constants.ts'
import { NoDialableAddressError, UnexpectedMessageError } from './errors.ts'
import { ipv4Tcp, isPublicIPv4 } from './observed.ts'
import { HolePunch } from './pb/message.ts'
import type { HostPort } from './punch.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The IPv4 TCP addresses in a CONNECT whose IP `accept`s (public ones by default), at most `MAX_DIALLED_ADDRS`, without duplicates */
export function dialableAddrs (raw: Uint8Array[], accept: (ip: string) => boolean = isPublicIPv4): HostPort[] {
  const out: HostPort[] = []
  const seen = new Set<string>()

  for (const bytes of raw.slice(0, MAX_CONNECT_ADDRS)) {
    let addr: Multiaddr

    try {
      addr = multiaddr(bytes)
    } catch {
      continue
    }

    const tcp = ipv4Tcp(addr)
    const key = tcp == null ? '' : `${tcp.host}:${tcp.port}`

    if (tcp != null && accept(tcp.host) && !seen.has(key)) {
      seen.add(key)
      out.push(tcp)
    }

    if (out.length === MAX_DIALLED_ADDRS) {
      break
    }
  }

  if (out.length === 0) {
    throw new NoDialableAddressError('the CONNECT carried no IPv4 TCP address we may dial')
  }

  return out
}

export interface InitiatorResult {
  addrs: HostPort[]
  rtt: number
}

/** Initiator: CONNECT, read the peer's CONNECT (timing it), SYNC */
export async function initiate (stream: Stream, ownAddrs: Multiaddr[], accept: (ip: string) => boolean, now: () => number, options: AbortOptions): Promise<InitiatorResult> {
  const pb = pbStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).pb(HolePunch)
  const start = now()
  await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: ownAddrs.map(a => a.bytes) }, options)
  const connect = await pb.read(options)
  const rtt = now() - start

  if (connect.type !== HolePunch.Type.CONNECT) {
    throw new UnexpectedMessageError(`expected CONNECT, got ${connect.type}`)
  }

  const addrs = dialableAddrs(connect.ObsAddrs, accept)
  await pb.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] }, options)

  return { addrs, rtt }
}

/**
 * Receiver: read CONNECT, answer with the addresses `ownAddrs()` gives once
 * the CONNECT was read (it may pick a port then), wait for SYNC
 */
export async function receive (stream: Stream, ownAddrs: () => Promise<Multiaddr[]>, accept: (ip: string) => boolean, options: AbortOptions): Promise<HostPort[]> {
  const pb = pbStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).pb(HolePunch)
  const connect = await pb.read(options)

  if (connect.type !== HolePunch.Type.CONNECT) {
    throw new UnexpectedMessageError(`expected CONNECT, got ${connect.type}`)
  }

  const addrs = dialableAddrs(connect.ObsAddrs, accept)
  await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: (await ownAddrs()).map(a => a.bytes) }, options)
  const sync = await pb.read(options)

  if (sync.type !== HolePunch.Type.SYNC) {
    throw new UnexpectedMessageError(`expected SYNC, got ${sync.type}`)
  }

  return addrs
}
