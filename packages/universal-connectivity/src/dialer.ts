/**
 * `dialPeer`: direct addresses first for at most `directTimeout`, then each
 * relay in turn (the peer's own circuit addresses, else
 * `<relay>/p2p/<relayId>/p2p-circuit/p2p/<peer>` built from relays we hold
 * reservations on or know), then, over a relayed connection, up to
 * `upgradeTimeout` for DCUtR to replace it with a direct one.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddr, isRelayed } from './addresses.ts'
import { ConnectivityDialError, NoDialableAddressError } from './errors.ts'
import type { DCUtRTracker } from './dcutr-tracker.ts'
import type { KnownRelays } from './relays.ts'
import type { AbortOptions, Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionPath } from '@x/interface'

export interface DialPeerOptions extends AbortOptions {
  /** Addresses to try instead of those in the peer store */
  addrs?: Multiaddr[]
  /** Fall back to a relay when no direct address works (default true) */
  useRelay?: boolean
  /** Override `directDialTimeout` for this dial */
  directTimeout?: number
  /** Override `relayDialTimeout` for this dial */
  relayTimeout?: number
  /** Override `upgradeTimeout` for this dial; 0 returns the relayed connection at once */
  upgradeTimeout?: number
}

/** One address set tried by `dialPeer` */
export interface DialAttempt {
  path: 'direct' | 'relay'
  addrs: Multiaddr[]
  /** ms spent */
  duration: number
  /** `err.name: message` when it failed */
  error?: string
  /** The relay's peer id, for relayed attempts */
  relay?: string
}

/** What `dialPeerWithResult` resolves to */
export interface DialResult {
  connection: Connection
  /** `direct`, `relay`, or `hole-punch` when DCUtR replaced the relayed connection in time */
  path: ConnectionPath
  /** True when an open direct connection was reused and nothing was dialled */
  existing: boolean
  /** The relayed connection, when the path went through a relay */
  relayed?: Connection
  attempts: DialAttempt[]
}

export interface DialerInit {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  peerStore: Pick<PeerStore, 'get'>
  relays: KnownRelays
  dcutr: Pick<DCUtRTracker, 'waitForUpgrade' | 'isPending'>
  reservations(): string[]
  relayAddrsOf(id: string): Multiaddr[]
  directTimeout: number
  relayTimeout: number
  upgradeTimeout: number
  maxRelayAttempts: number
  now(): number
}

export class Dialer {
  private readonly init: DialerInit

  constructor (init: DialerInit) {
    this.init = init
  }

  async dial (peer: PeerId, options: DialPeerOptions = {}): Promise<DialResult> {
    const { connectionManager } = this.init
    const attempts: DialAttempt[] = []
    const existing = connectionManager.getConnections(peer).find(c => c.status === 'open' && !isRelayed(c))

    if (existing != null) {
      return { connection: existing, path: 'direct', existing: true, attempts }
    }

    const known = options.addrs ?? await this.knownAddrs(peer, options)
    const withPeer = known.map(ma => ensurePeerId(ma, peer))
    const direct = withPeer.filter(ma => !isCircuitAddr(ma))

    if (direct.length > 0) {
      const conn = await this.attempt('direct', direct, options.directTimeout ?? this.init.directTimeout, attempts, options)

      if (conn != null && !isRelayed(conn)) {
        return { connection: conn, path: 'direct', existing: false, attempts }
      }
    }

    if (options.useRelay !== false) {
      for (const [relay, addrs] of this.relayAddrs(peer, withPeer)) {
        const conn = await this.attempt('relay', addrs, options.relayTimeout ?? this.init.relayTimeout, attempts, options, relay)

        if (conn == null) {
          continue
        }

        return this.awaitUpgrade(peer, conn, attempts, options)
      }
    }

    if (attempts.length === 0) {
      throw new NoDialableAddressError(`no direct address for ${peer}${options.useRelay === false ? ' and relaying is off' : ' and no relay known'}`)
    }

    throw new ConnectivityDialError(`could not reach ${peer}`, attempts)
  }

  private async awaitUpgrade (peer: PeerId, relayed: Connection, attempts: DialAttempt[], options: DialPeerOptions): Promise<DialResult> {
    const timeout = options.upgradeTimeout ?? this.init.upgradeTimeout
    const direct = this.init.connectionManager.getConnections(peer).find(c => c.status === 'open' && !isRelayed(c))

    if (direct != null) {
      return { connection: direct, path: 'hole-punch', existing: false, relayed, attempts }
    }

    if (timeout > 0 && this.init.dcutr.isPending(peer)) {
      const upgraded = await this.init.dcutr.waitForUpgrade(peer, timeout, options.signal)

      if (upgraded != null) {
        return { connection: upgraded, path: 'hole-punch', existing: false, relayed, attempts }
      }
    }

    return { connection: relayed, path: 'relay', existing: false, relayed, attempts }
  }

  private async attempt (path: 'direct' | 'relay', addrs: Multiaddr[], timeout: number, attempts: DialAttempt[], options: AbortOptions, relay?: string): Promise<Connection | undefined> {
    const started = this.init.now()
    const signal = options.signal == null ? AbortSignal.timeout(timeout) : AbortSignal.any([options.signal, AbortSignal.timeout(timeout)])

    try {
      const conn = await this.init.connectionManager.openConnection(addrs, { signal })
      attempts.push({ path, addrs, duration: this.init.now() - started, relay })
      return conn
    } catch (err: any) {
      attempts.push({ path, addrs, duration: this.init.now() - started, relay, error: `${err.name}: ${err.message}` })

      if (options.signal?.aborted === true) {
        throw new ConnectivityDialError('dial aborted', attempts)
      }

      return undefined
    }
  }

  private async knownAddrs (peer: PeerId, options: AbortOptions): Promise<Multiaddr[]> {
    try {
      const stored = await this.init.peerStore.get(peer, options)
      return stored.addresses.map(a => a.multiaddr)
    } catch {
      return []
    }
  }

  /** Relay address sets in order: the peer's own circuit addresses, then built ones */
  private relayAddrs (peer: PeerId, known: Multiaddr[]): Array<[string | undefined, Multiaddr[]]> {
    const out: Array<[string | undefined, Multiaddr[]]> = []
    const own = known.filter(isCircuitAddr)

    if (own.length > 0) {
      out.push([undefined, own])
    }

    const candidates = this.init.relays.candidates(this.init.reservations(), id => this.init.relayAddrsOf(id))
      .filter(c => c.id !== peer.toString())
      .slice(0, this.init.maxRelayAttempts)

    for (const candidate of candidates) {
      out.push([candidate.id, candidate.addrs.map(addr => multiaddr(`${addr.toString()}/p2p/${candidate.id}/p2p-circuit/p2p/${peer.toString()}`))])
    }

    return out
  }
}

function ensurePeerId (ma: Multiaddr, peer: PeerId): Multiaddr {
  const last = ma.getComponents().at(-1)

  if (last?.name === 'p2p') {
    return ma
  }

  return ma.encapsulate(`/p2p/${peer.toString()}`)
}
