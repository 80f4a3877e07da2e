/**
 * Derives the NAT status from what js-libp2p already knows:
 *
 * 1. `public`: the address manager holds a verified public (non-relay)
 * address: AutoNAT (v1 or v2) confirmed it, or the user announced it.
 * 2. `private`, in order of evidence, when no public address is verified:
 * - AutoNAT failed a public transport address (the address manager marks
 * it unverified with a retry time, `expires > 0`);
 * - we hold a relay reservation (a `/p2p-circuit` address of our own);
 * - peers observe us at a public address that is none of our listen
 * addresses (a NAT translated us) and no AutoNAT server confirmed it
 * within `privateAfter`.
 * 3. `unknown` otherwise.
 *
 * Neither `@libp2p/autonat` 3.0 nor `@libp2p/autonat-v2` 2.0 dispatches events:
 * their results reach us only as confirmed or removed addresses in the address
 * manager. Both need 8 failed dial-backs from distinct network segments before
 * they give up on an observed address, so the translation rule is what turns
 * most NATed nodes `private` in practice.
 *
 * Re-evaluated on `self:peer:update` and every `checkInterval`.
 */
import { hostOf, isCircuitAddr, isPublicAddr, relayIdOf } from './addresses.ts'
import type { AddressManager } from '@libp2p/interface-internal'
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
  privateAfter: number
  now(): number
  onChange(change: NatStatusChange, evaluation: NatEvaluation): void
}

/** Bound on the translated addresses remembered with the time first observed */
const MAX_TRANSLATED = 64

export class NatStatusTracker {
  private readonly init: NatStatusTrackerInit
  private status: NatStatus = 'unknown'
  private last: NatEvaluation = { status: 'unknown', reason: 'not evaluated yet', reservations: [], verifiedPublicAddrs: [] }
  private since: number
  private readonly translatedSince = new Map<string, number>()

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

  reset (): void {
    this.status = 'unknown'
    this.since = this.init.now()
    this.translatedSince.clear()
  }

  private compute (): NatEvaluation {
    const now = this.init.now()
    const addrs = this.init.addressManager.getAddressesWithMetadata()
    const reservations = [...new Set(addrs.filter(a => isCircuitAddr(a.multiaddr)).map(a => relayIdOf(a.multiaddr) ?? a.multiaddr.toString()))]
    const publicAddrs = addrs.filter(a => isPublicAddr(a.multiaddr))
    const verified = publicAddrs.filter(a => a.verified)
    const verifiedPublicAddrs = verified.map(a => a.multiaddr.toString())

    if (verified.length > 0) {
      const first = verified[0]
      const how = first.type === 'announce' ? 'announced' : 'verified'
      return { status: 'public', reason: `${how} public address ${first.multiaddr}`, reservations, verifiedPublicAddrs }
    }

    const failed = publicAddrs.find(a => a.type === 'transport' && !a.verified && a.expires > 0)

    if (failed != null) {
      return { status: 'private', reason: `AutoNAT could not dial public address ${failed.multiaddr}`, reservations, verifiedPublicAddrs }
    }

    if (reservations.length > 0) {
      return { status: 'private', reason: `relay reservation held on ${reservations.join(', ')} and no verified public address`, reservations, verifiedPublicAddrs }
    }

    // public addresses others see that none of our own listeners has: a NAT
    const ownHosts = new Set(addrs.filter(a => a.type === 'transport').map(a => hostOf(a.multiaddr)))
    const translated = publicAddrs
      .filter(a => a.type === 'observed' && !ownHosts.has(hostOf(a.multiaddr)))
      .map(a => a.multiaddr.toString())

    for (const key of this.translatedSince.keys()) {
      if (!translated.includes(key)) {
        this.translatedSince.delete(key)
      }
    }

    for (const key of translated) {
      if (!this.translatedSince.has(key) && this.translatedSince.size < MAX_TRANSLATED) {
        this.translatedSince.set(key, now)
      }
    }

    const oldest = Math.min(...[...this.translatedSince.values()])

    if (Number.isFinite(oldest) && now - oldest >= this.init.privateAfter) {
      const [addr] = [...this.translatedSince.keys()]
      return { status: 'private', reason: `observed behind a NAT as ${addr} and no AutoNAT server confirmed it within ${this.init.privateAfter} ms`, reservations, verifiedPublicAddrs }
    }

    if (publicAddrs.length > 0) {
      return { status: 'unknown', reason: `public address ${publicAddrs[0].multiaddr} not verified yet`, reservations, verifiedPublicAddrs }
    }

    return { status: 'unknown', reason: 'no public address known', reservations, verifiedPublicAddrs }
  }
}
