/**
 * DNS names in other peers' addresses (PROTOCOL.md, "Addresses", A4): a
 * name says nothing of where it leads, so a hostile peer could steer us to
 * a private target through a public-looking name. A `/dns`, `/dns4` or
 * `/dns6` address the incoming filter keeps is resolved (injected DNS,
 * bounded, timed out) and kept only if every address it resolves to passes
 * the filter from the same source; `/dnsaddr` names (lists of further
 * addresses and names, resolved by libp2p at dial time) are dropped.
 */
import { RecordType } from '@multiformats/dns'
import { multiaddr } from '@multiformats/multiaddr'
import { Budget } from './budget.ts'
import * as C from './constants.ts'
import { AuthorRateLimiter } from './rate-limit.ts'
import type { AddressFilter, AddressSource } from './address-filter.ts'
import type { Logger, PeerId } from '@libp2p/interface'
import type { DNS } from '@multiformats/dns'
import type { Multiaddr } from '@multiformats/multiaddr'

const LOOKUPS: Record<string, RecordType[]> = {
  dns: [RecordType.A, RecordType.AAAA],
  dns4: [RecordType.A],
  dns6: [RecordType.AAAA]
}

/** Protocols whose handshake carries the name (certificate, SNI, Host header): such an address keeps its name */
const NAME_BOUND = new Set(['tls', 'sni', 'ws', 'wss', 'http', 'https', 'webtransport'])

/** An address a name resolved to */
interface Resolved {
  family: 'ip4' | 'ip6'
  address: string
}

/** `localhost` and names under `.localhost`, in any case, with or without the root's dot (RFC 6761: loopback) */
function isLocalhost (host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost')
}

export interface NameCheckOptions {
  /** How long one lookup may take, ms */
  timeout: number
  /** The interval the lookup budgets refill over, ms */
  interval: number
  /** Names looked up per interval, node-wide */
  maxLookupsPerInterval: number
  /** Names looked up per author (the peer that announced or relayed them) per interval */
  maxLookupsPerAuthor: number
  /** Whether we hold a connection to the peer: its names spend the budget of connected authors, not `maxLookupsPerInterval` */
  isConnected?(peer: PeerId): boolean
  /** The clock, ms (tests) */
  now?(): number
}

/** The protocol name of an address's first part when it is a DNS name */
function nameKind (ma: Multiaddr): string | undefined {
  const first = ma.getComponents()[0]
  return first != null && (first.name in LOOKUPS || first.name === 'dnsaddr') ? first.name : undefined
}

export class NameCheck {
  private readonly dns: () => DNS
  private readonly options: NameCheckOptions
  private readonly log: Logger
  /** Lookups in flight, node-wide, oldest first (at most MAX_PENDING_NAME_LOOKUPS) */
  private readonly inFlight = new Set<{ started: number, controller: AbortController }>()
  private shutdown = new AbortController()
  /** Names looked up per author per interval (`maxLookupsPerAuthor`) */
  private readonly perAuthor: AuthorRateLimiter
  /** Names of authors not connected to us looked up per interval, node-wide (`maxLookupsPerInterval`) */
  private readonly nodeWide: Budget
  /** Names of authors connected to us looked up per interval, node-wide (CONNECTED_NAME_LOOKUPS_FACTOR times `maxLookupsPerInterval`) */
  private readonly connectedWide: Budget

  /** `dns` is called at the first lookup only, so a node that never sees a name builds no resolver */
  constructor (dns: () => DNS, options: NameCheckOptions, log: Logger) {
    this.dns = dns
    this.options = options
    this.log = log
    this.perAuthor = new AuthorRateLimiter(options.maxLookupsPerAuthor, options.interval, C.MAX_TRACKED_NAME_AUTHORS)
    this.nodeWide = new Budget(options.maxLookupsPerInterval, options.interval)
    this.connectedWide = new Budget(C.CONNECTED_NAME_LOOKUPS_FACTOR * options.maxLookupsPerInterval, options.interval)
  }

  /** Whether any of the addresses is a DNS name (then `filter` is async work) */
  static anyName (multiaddrs: Multiaddr[]): boolean {
    return multiaddrs.some(ma => nameKind(ma) != null)
  }

  /**
   * `multiaddrs` (already kept by `filter` from `source`) without the
   * names that do not resolve, in time, to addresses all passing `filter`
   * from `source`; never rejects. Each distinct name is looked up once
   * (a host on several transports costs one lookup); `localhost` names
   * are not looked up: the filter judged them loopback already (RFC 6761).
   * At most MAX_RESOLVED_CHECKS resolved addresses are judged
   */
  async filter (multiaddrs: Multiaddr[], filter: AddressFilter, source: AddressSource): Promise<Multiaddr[]> {
    const verdicts = await this.judge(multiaddrs, filter, source)
    return multiaddrs.filter((_, i) => verdicts[i] !== false)
  }

  /**
   * As `filter`, but each kept name that no handshake needs (`pinnable`)
   * is replaced by the addresses it was judged by (at most
   * MAX_PINNED_PER_NAME, the first in sorted order): a dial would resolve it again, and a hostile name
   * server may then answer with a private address (DNS rebinding).
   * `dropped`: the addresses of `multiaddrs` not kept
   */
  async pin (multiaddrs: Multiaddr[], filter: AddressFilter, source: AddressSource): Promise<{ addresses: Multiaddr[], dropped: number }> {
    const verdicts = await this.judge(multiaddrs, filter, source)
    const addresses: Multiaddr[] = []
    const seen = new Set<string>()
    let dropped = 0

    for (const [i, verdict] of verdicts.entries()) {
      if (verdict === false) {
        dropped++
        continue
      }

      for (const ma of verdict === true ? [multiaddrs[i]] : verdict) {
        if (!seen.has(ma.toString())) {
          seen.add(ma.toString())
          addresses.push(ma)
        }
      }
    }

    return { addresses, dropped }
  }

  /** Whether `ma` is a DNS name that no handshake needs (no TLS, SNI, HTTP, WebSockets or WebTransport part): it can be dialled by the addresses it resolves to */
  static pinnable (ma: Multiaddr): boolean {
    const kind = nameKind(ma)
    return kind != null && kind !== 'dnsaddr' && !isLocalhost(ma.getComponents()[0].value ?? '') &&
      !ma.getComponents().some(c => NAME_BOUND.has(c.name))
  }

  /**
   * Per address: false if dropped, true if kept as it is, else the
   * addresses a pinnable name resolved to and was judged by
   */
  private async judge (multiaddrs: Multiaddr[], filter: AddressFilter, source: AddressSource): Promise<Array<boolean | Multiaddr[]>> {
    const lookups = new Map<string, Promise<Resolved[] | undefined>>()
    let checks = 0
    return Promise.all(multiaddrs.map(async (ma): Promise<boolean | Multiaddr[]> => {
      const kind = nameKind(ma)

      if (kind == null) {
        return true
      }

      const first = ma.getComponents()[0]
      const host = first.value ?? ''

      if (kind === 'dnsaddr') {
        return false
      }

      if (isLocalhost(host)) {
        return true
      }

      const key = `${kind}/${host.toLowerCase()}`
      let lookup = lookups.get(key)

      if (lookup == null) {
        if (lookups.size >= C.MAX_NAMES_PER_ANNOUNCEMENT) {
          return false
        }

        lookup = this.mayLookUp(source) ? this.resolve(ma, host, kind) : Promise.resolve(undefined)
        lookups.set(key, lookup)
      }

      const resolved = await lookup

      // bounded work: a name server may answer with thousands of addresses
      if (resolved == null || checks + resolved.length > C.MAX_RESOLVED_CHECKS) {
        return false
      }

      checks += resolved.length
      const rest = ma.toString().slice(`/${first.name}/${host}`.length)

      try {
        const judged = resolved.map(({ family, address }) => multiaddr(`/${family}/${address}${rest}`))

        if (!judged.every(resolvedMa => filter(resolvedMa, source))) {
          return false
        }

        // sorted: a name server answering round-robin (rotated order) pins the same addresses each time
        return NameCheck.pinnable(ma) ? judged.sort((a, b) => a.toString() < b.toString() ? -1 : 1).slice(0, C.MAX_PINNED_PER_NAME) : true
      } catch (err) {
        this.log('could not judge what %a resolves to - %e', ma, err)
        return false
      }
    }))
  }

  /** Aborts the lookups in flight (on stop), and refills the lookup budgets */
  abort (): void {
    this.shutdown.abort()
    this.shutdown = new AbortController()
    this.perAuthor.clear()
    this.nodeWide.reset()
    this.connectedWide.reset()
  }

  /**
   * Whether one more name may be looked up for `source`'s author: within
   * its own budget per interval, then the node-wide one (so an author over
   * its own spends none of the others'); authors connected to us spend a
   * node-wide one of their own instead (a connection cannot be forged with
   * a key, so fresh keys cannot crowd them out), CONNECTED_NAME_LOOKUPS_FACTOR
   * times as large. A hostile peer can then make a node send at most
   * `maxLookupsPerAuthor` lookups per interval, and any number of keys and
   * connections at most (1 + CONNECTED_NAME_LOOKUPS_FACTOR) *
   * `maxLookupsPerInterval`
   */
  private mayLookUp (source: AddressSource): boolean {
    const now = this.options.now?.() ?? Date.now()
    const author = source.peer?.toString() ?? 'unsigned'
    const connected = source.peer != null && this.options.isConnected?.(source.peer) === true

    if (!this.perAuthor.allow(author, now) || !(connected ? this.connectedWide : this.nodeWide).take(now)) {
      this.log('over the name lookup budget: dropping a name of %s', author)
      return false
    }

    return true
  }

  /**
   * The addresses `host` resolves to, within the timeout (whether or not
   * the resolver heeds the abort signal); undefined if none, if the lookup
   * failed, timed out or was preempted, or if MAX_PENDING_NAME_LOOKUPS
   * younger than LOOKUP_PREEMPTIBLE_AFTER are in flight.
   * Each record type is asked on its own: resolvers fail a query for A and
   * AAAA together when the name has no records of one of them
   * (`@multiformats/dns`'s Node resolver does), and a host of one address
   * family is no reason to drop its name
   */
  private async resolve (ma: Multiaddr, host: string, kind: string): Promise<Resolved[] | undefined> {
    const now = this.options.now?.() ?? Date.now()

    if (this.inFlight.size >= C.MAX_PENDING_NAME_LOOKUPS && !this.preemptOldest(now)) {
      this.log('too many name lookups in flight: dropping %a', ma)
      return undefined
    }

    // one controller per lookup, aborted on stop, at the timeout or when
    // preempted (AbortSignal.any on the long-lived shutdown signal would
    // keep every lookup's signal: nodejs/node#64476)
    const lookup = { started: now, controller: new AbortController() }
    const { signal } = lookup.controller
    this.inFlight.add(lookup)
    const shutdown = this.shutdown.signal
    const onShutdown = (): void => { lookup.controller.abort(shutdown.reason) }
    shutdown.addEventListener('abort', onShutdown, { once: true })
    const timer = setTimeout(() => { lookup.controller.abort(new Error(`no answer within ${this.options.timeout} ms`)) }, this.options.timeout)
    let onAbort = (): void => {}
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })

    try {
      const dns = this.dns()
      const answers = await Promise.race([
        Promise.allSettled(LOOKUPS[kind].map(async type => dns.query(host, { types: [type], signal }))),
        aborted
      ])
      const resolved: Resolved[] = []

      for (const answer of answers) {
        if (answer.status === 'rejected') {
          this.log('no %s record of %s - %e', kind, host, answer.reason)
          continue
        }

        for (const record of answer.value.Answer) {
          if (record.type === RecordType.A || record.type === RecordType.AAAA) {
            resolved.push({ family: record.type === RecordType.A ? 'ip4' : 'ip6', address: record.data })
          }
        }
      }

      return resolved.length > 0 ? resolved : undefined
    } catch (err) {
      this.log('could not resolve %a - %e', ma, err)
      return undefined
    } finally {
      clearTimeout(timer)
      shutdown.removeEventListener('abort', onShutdown)
      signal.removeEventListener('abort', onAbort)
      this.inFlight.delete(lookup)
    }
  }

  /**
   * Aborts the oldest lookup in flight if it has run for
   * LOOKUP_PREEMPTIBLE_AFTER (its name is dropped), so names that never
   * answer cannot hold every slot; whether a slot is free now
   */
  private preemptOldest (now: number): boolean {
    const oldest = this.inFlight.values().next().value

    if (oldest == null || now - oldest.started < C.LOOKUP_PREEMPTIBLE_AFTER) {
      return false
    }

    this.inFlight.delete(oldest)
    oldest.controller.abort(new Error(`preempted after ${now - oldest.started} ms`))
    return true
  }
}
