/**
 * The DCUtR exchange on a stream over the relayed connection (libp2p/specs
 * relay/DCUtR.md): the initiator sends CONNECT with its addresses and times
 * the peer's CONNECT reply (the RTT), then sends SYNC; the receiver answers
 * CONNECT with its addresses and waits for SYNC.
 */
import { lpStream, pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_CONNECT_ADDRS, MAX_DIALLED_ADDRS, MAX_MESSAGE_SIZE } from './constants.ts'
import { NoDialableAddressError, UnexpectedMessageError } from './errors.ts'
import { ipv4Tcp, isPublicIPv4 } from './observed.ts'
import { proposal, readAcceptance } from './optimistic-stream.ts'
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

/** The exchange's options: `trace` is told each message sent or read (the lab timeline logs them) */
export interface ExchangeOptions extends AbortOptions {
  trace?(step: string): void
}

/**
 * The initiator's: `propose` names the protocol to negotiate optimistically,
 * in the CONNECT's write (see optimistic-stream.ts); `beforeSync` is awaited
 * between the peer's CONNECT and our SYNC
 */
export interface InitiateOptions extends ExchangeOptions {
  propose?: string
  beforeSync?(): Promise<void>
}

export interface InitiatorResult {
  addrs: HostPort[]
  rtt: number
}

/**
 * Initiator: CONNECT, read the peer's CONNECT (timing it), SYNC. With
 * `propose`, the multistream-select proposal goes out in the CONNECT's write
 * and the peer's acceptance is read first (`UnsupportedProtocolError` on `na`).
 *
 * The RTT runs to the moment the peer's CONNECT reached the stream (the
 * `message` event that completed it), not to when our reader gets to run: on
 * a busy node that came 2-8 ms later, which the RTT / 2 wait before the dial
 * then took in half again. Not to the first bytes of the answer either: with
 * `propose`, go-multistream writes its header as soon as it accepts the
 * stream (the muxer's SYN, sent before our CONNECT), so those may arrive
 * before the CONNECT left.
 */
export async function initiate (stream: Stream, ownAddrs: Multiaddr[], accept: (ip: string) => boolean, now: () => number, options: InitiateOptions): Promise<InitiatorResult> {
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
  const negotiation = options.propose != null ? proposal(options.propose) : []
  // when the last bytes seen so far arrived: after the CONNECT's read, those
  // that completed it (the peer sends nothing else before our SYNC)
  let arrivedAt: number | undefined
  const onAnswer = (): void => {
    arrivedAt = now()
  }
  stream.addEventListener('message', onAnswer)

  try {
    const start = now()
    await lp.writeV([...negotiation, HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: ownAddrs.map(a => a.bytes) })], options)
    options.trace?.('CONNECT sent')

    if (options.propose != null) {
      await readAcceptance(lp, options.propose, options)
    }

    const connect = HolePunch.decode(await lp.read(options))
    const rtt = Math.max(0, (arrivedAt ?? now()) - start)
    options.trace?.('CONNECT answered')

    if (connect.type !== HolePunch.Type.CONNECT) {
      throw new UnexpectedMessageError(`expected CONNECT, got ${connect.type}`)
    }

    const addrs = dialableAddrs(connect.ObsAddrs, accept)
    await options.beforeSync?.()
    await lp.write(HolePunch.encode({ type: HolePunch.Type.SYNC, ObsAddrs: [] }), options)

    return { addrs, rtt }
  } finally {
    stream.removeEventListener('message', onAnswer)
  }
}

/**
 * Receiver: read CONNECT, answer with the addresses `ownAddrs()` gives once
 * the CONNECT was read (it may pick a port then), wait for SYNC
 */
export async function receive (stream: Stream, ownAddrs: () => Promise<Multiaddr[]>, accept: (ip: string) => boolean, options: ExchangeOptions): Promise<HostPort[]> {
  const pb = pbStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).pb(HolePunch)
  const connect = await pb.read(options)
  options.trace?.('CONNECT from the initiator')

  if (connect.type !== HolePunch.Type.CONNECT) {
    throw new UnexpectedMessageError(`expected CONNECT, got ${connect.type}`)
  }

  const addrs = dialableAddrs(connect.ObsAddrs, accept)
  await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: (await ownAddrs()).map(a => a.bytes) }, options)
  options.trace?.('CONNECT answered')
  const sync = await pb.read(options)

  if (sync.type !== HolePunch.Type.SYNC) {
    throw new UnexpectedMessageError(`expected SYNC, got ${sync.type}`)
  }

  return addrs
}
