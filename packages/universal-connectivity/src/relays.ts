/**
 * Relays `dialPeer` can build circuit addresses through: those we hold a
 * reservation on (best: they are known to accept us), those given in
 * `init.relays`, and peers that identify showed speak the circuit relay v2
 * hop protocol. Bounded to `max` learned relays (oldest forgotten first);
 * configured relays are never forgotten.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { withoutPeerId } from './addresses.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

export interface RelayCandidate {
  id: string
  /** Addresses of the relay itself, without `/p2p/<relay>` */
  addrs: Multiaddr[]
  source: 'reservation' | 'configured' | 'identify'
}

export class KnownRelays {
  private readonly configured = new Map<string, Multiaddr[]>()
  private readonly learned = new Map<string, Multiaddr[]>()
  private readonly max: number

  constructor (configured: Array<string | Multiaddr>, max: number) {
    this.max = max

    for (const addr of configured) {
      const ma = typeof addr === 'string' ? multiaddr(addr) : addr
      const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value

      if (id == null) {
        continue
      }

      const list = this.configured.get(id) ?? []
      list.push(withoutPeerId(ma))
      this.configured.set(id, list)
    }
  }

  /** A peer identified as a relay, with its addresses */
  learn (id: string, addrs: Multiaddr[]): void {
    this.learned.delete(id)
    this.learned.set(id, addrs.map(withoutPeerId))

    while (this.learned.size > this.max) {
      const oldest = this.learned.keys().next().value

      if (oldest == null) {
        break
      }

      this.learned.delete(oldest)
    }
  }

  forget (id: string): void {
    this.learned.delete(id)
  }

  /**
   * Candidates in order of preference: reservations first, then configured,
   * then learned. `addrsOf` supplies current addresses for reservation relays.
   */
  candidates (reservations: string[], addrsOf: (id: string) => Multiaddr[]): RelayCandidate[] {
    const out: RelayCandidate[] = []
    const seen = new Set<string>()

    for (const id of reservations) {
      const addrs = addrsOf(id)
      const fallback = this.configured.get(id) ?? this.learned.get(id) ?? []
      out.push({ id, addrs: addrs.length > 0 ? addrs.map(withoutPeerId) : fallback, source: 'reservation' })
      seen.add(id)
    }

    for (const [id, addrs] of this.configured) {
      if (!seen.has(id)) {
        out.push({ id, addrs, source: 'configured' })
        seen.add(id)
      }
    }

    for (const [id, addrs] of [...this.learned].reverse()) {
      if (!seen.has(id)) {
        out.push({ id, addrs, source: 'identify' })
        seen.add(id)
      }
    }

    return out.filter(c => c.addrs.length > 0)
  }

  get size (): number {
    return new Set([...this.configured.keys(), ...this.learned.keys()]).size
  }
}
