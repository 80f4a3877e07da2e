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
import * as C from './constants.ts'
import type { AddressFilter, AddressSource } from './address-filter.ts'
import type { Logger } from '@libp2p/interface'
import type { DNS } from '@multiformats/dns'
import type { Multiaddr } from '@multiformats/multiaddr'

const LOOKUPS: Record<string, RecordType[]> = {
  dns: [RecordType.A, RecordType.AAAA],
  dns4: [RecordType.A],
  dns6: [RecordType.AAAA]
}

export interface NameCheckOptions {
  /** How long one lookup may take, ms */
  timeout: number
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
  /** Lookups in flight, node-wide (at most MAX_PENDING_NAME_LOOKUPS) */
  private pending = 0
  private shutdown = new AbortController()

  /** `dns` is called at the first lookup only, so a node that never sees a name builds no resolver */
  constructor (dns: () => DNS, options: NameCheckOptions, log: Logger) {
    this.dns = dns
    this.options = options
    this.log = log
  }

  /** Whether any of the addresses is a DNS name (then `filter` is async work) */
  static anyName (multiaddrs: Multiaddr[]): boolean {
    return multiaddrs.some(ma => nameKind(ma) != null)
  }

  /**
   * `multiaddrs` (already kept by `filter` from `source`) without the
   * names that do not resolve, in time, to addresses all passing `filter`
   * from `source`; never rejects
   */
  async filter (multiaddrs: Multiaddr[], filter: AddressFilter, source: AddressSource): Promise<Multiaddr[]> {
    let names = 0
    const verdicts = await Promise.all(multiaddrs.map(async ma => {
      const kind = nameKind(ma)

      if (kind == null) {
        return true
      }

      if (kind === 'dnsaddr' || ++names > C.MAX_NAMES_PER_ANNOUNCEMENT) {
        return false
      }

      return this.check(ma, kind, filter, source)
    }))

    return multiaddrs.filter((_, i) => verdicts[i])
  }

  /** Aborts the lookups in flight (on stop) */
  abort (): void {
    this.shutdown.abort()
    this.shutdown = new AbortController()
  }

  private async check (ma: Multiaddr, kind: string, filter: AddressFilter, source: AddressSource): Promise<boolean> {
    if (this.pending >= C.MAX_PENDING_NAME_LOOKUPS) {
      this.log('too many name lookups in flight: dropping %a', ma)
      return false
    }

    const first = ma.getComponents()[0]
    const host = first.value ?? ''
    const rest = ma.toString().slice(`/${first.name}/${host}`.length)
    this.pending++

    try {
      const answer = await this.dns().query(host, {
        types: LOOKUPS[kind],
        signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.options.timeout)])
      })
      const resolved = answer.Answer
        .filter(a => a.type === RecordType.A || a.type === RecordType.AAAA)
        .map(a => multiaddr(`/${a.type === RecordType.A ? 'ip4' : 'ip6'}/${a.data}${rest}`))

      return resolved.length > 0 && resolved.every(resolvedMa => filter(resolvedMa, source))
    } catch (err) {
      this.log('could not resolve %a - %e', ma, err)
      return false
    } finally {
      this.pending--
    }
  }
}
