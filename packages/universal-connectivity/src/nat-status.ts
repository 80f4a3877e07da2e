/**
 * Derives the NAT status from the address manager, the signal AutoNAT v1
 * (`@libp2p/autonat` 3.0) and v2 (`@libp2p/autonat-v2` 2.0) leave: neither
 * dispatches an event, both confirm or remove addresses there (the same
 * signal kad-dht's automatic server mode reads).
 *
 * 1. `public`: a public, non-relay address is verified: AutoNAT confirmed a
 * transport, observed or mapped address, or the user announced it.
 * 2. `private`, when nothing public is verified:
 * - AutoNAT failed a public transport or mapped address: it is marked
 * unverified with a retry time (`verified: false, expires > 0`); the
 * failure stands while AutoNAT retries it;
 * - AutoNAT failed an observed address (first or on re-verification):
 * `removeObservedAddr` drops it from the list, silently when it was never
 * verified (no `self:peer:update`), so the list is also polled every
 * `checkInterval`, and a public observed address that disappears (and was
 * not replaced by a port mapping of the same address) is a failure;
 * - we hold a relay reservation (a `/p2p-circuit` address of our own).
 * 3. `unknown` otherwise: no public address, or none decided yet. A NATed
 * node that speaks only TCP stays `unknown` without a reservation:
 * `@libp2p/identify` discards observed TCP addresses (js-libp2p#2620), so
 * AutoNAT has no public address to test. Over UDP transports (QUIC, WebRTC
 * Direct) observed addresses are kept and tested.
 *
 * AutoNAT decides an address after 4 successful (1 for a transport address)
 * or 8 failed dial-backs, each from a peer in a distinct /8 (IPv4) network.
 */
import { isCircuitAddr, isPublicAddr, relayIdOf } from './addresses.ts'
import type { AddressManager, NodeAddress } from '@libp2p/interface-internal'
import type { NatStatus, NatStatusChange } from '@x/interface'

export interface NatEvaluation {
  status: NatStatus
  reason: string
  /** Distinct relays we hold a reservation on */
  reservations: string[]
  verifiedPublicAddrs: string[]
}

export interface NatStatusTrackerInit {
  addressManager: Pick<AddressManager, 'getAddressesWithMetadata'>
  now(): number
  onChange(change: NatStatusChange, evaluation: NatEvaluation): void
}

/** Bound on the unverified observed addresses and the failures remembered */
export const MAX_REMEMBERED_ADDRS = 64

export class NatStatusTracker {
  private readonly init: NatStatusTrackerInit
  private status: NatStatus = 'unknown'
  private last: NatEvaluation = { status: 'unknown', reason: 'not evaluated yet', reservations: [], verifiedPublicAddrs: [] }
  private since: number
  /** Public observed addresses seen at the last evaluation */
  private observed = new Set<string>()
  /** Public addresses AutoNAT failed, with when we learned it (insertion order: oldest first) */
  private readonly failed = new Map<string, number>()

  constructor (init: NatStatusTrackerInit) {
    this.init = init
    this.since = init.now()
  }

  getStatus (): NatStatus {
    return this.status
  }

  getEvaluation (): NatEvaluation & { since: number } {
    return { ...this.last, since: this.since }
  }

  /** How many addresses are remembered between evaluations (bounded by `MAX_REMEMBERED_ADDRS` each) */
  remembered (): number {
    return Math.max(this.observed.size, this.failed.size)
  }

  /** Re-read the address manager; fires `onChange` if the status changed */
  evaluate (): NatEvaluation {
    const evaluation = this.compute()
    this.last = evaluation

    if (evaluation.status !== this.status) {
      const previous = this.status
      this.status = evaluation.status
      this.since = this.init.now()
      this.init.onChange({ status: evaluation.status, previous, reason: evaluation.reason }, evaluation)
    }

    return evaluation
  }

  private compute (): NatEvaluation {
    const addrs = this.init.addressManager.getAddressesWithMetadata()
    const reservations = [...new Set(addrs.filter(a => isCircuitAddr(a.multiaddr)).map(a => relayIdOf(a.multiaddr) ?? a.multiaddr.toString()))]
    const publicAddrs = addrs.filter(a => isPublicAddr(a.multiaddr))
    const verified = publicAddrs.filter(a => a.verified)
    const verifiedPublicAddrs = verified.map(a => a.multiaddr.toString())

    this.learnFailures(publicAddrs)

    if (verified.length > 0) {
      const first = verified.find(a => a.type !== 'announce') ?? verified[0]
      const how = first.type === 'announce' ? 'announced' : `AutoNAT verified ${first.type}`
      return { status: 'public', reason: `${how} address ${first.multiaddr}`, reservations, verifiedPublicAddrs }
    }

    const [failed] = [...this.failed.keys()].reverse()

    if (failed != null) {
      return { status: 'private', reason: `AutoNAT could not dial ${failed} back and no public address is verified`, reservations, verifiedPublicAddrs }
    }

    if (reservations.length > 0) {
      return { status: 'private', reason: `relay reservation held on ${reservations.join(', ')} and no public address verified`, reservations, verifiedPublicAddrs }
    }

    if (publicAddrs.length > 0) {
      return { status: 'unknown', reason: `public address ${publicAddrs[0].multiaddr} not verified yet`, reservations, verifiedPublicAddrs }
    }

    return { status: 'unknown', reason: 'no public address known', reservations, verifiedPublicAddrs }
  }

  /** Records the failures this list shows, and forgets those of addresses verified since */
  private learnFailures (publicAddrs: NodeAddress[]): void {
    const now = this.init.now()
    const present = new Set(publicAddrs.map(a => key(a)))

    for (const addr of publicAddrs) {
      if (addr.verified) {
        this.failed.delete(key(addr))
      } else if (addr.type !== 'observed' && addr.type !== 'announce' && addr.expires > now) {
        // unconfirmed by AutoNAT: not verified, with a retry time
        this.remember(key(addr), now)
      }
    }

    // observed addresses AutoNAT removed: gone, and not replaced by a mapping of the same address
    for (const addr of this.observed) {
      if (!present.has(addr)) {
        this.remember(addr, now)
      }
    }

    this.observed = new Set(publicAddrs.filter(a => a.type === 'observed').map(a => key(a)).slice(0, MAX_REMEMBERED_ADDRS))
  }

  private remember (addr: string, now: number): void {
    if (this.failed.has(addr)) {
      return
    }

    this.failed.set(addr, now)

    while (this.failed.size > MAX_REMEMBERED_ADDRS) {
      const oldest = this.failed.keys().next().value

      if (oldest == null) {
        break
      }

      this.failed.delete(oldest)
    }
  }
}

/** The address as the failure memory keys it (the same address whatever its type) */
function key (addr: NodeAddress): string {
  return addr.multiaddr.toString()
}
