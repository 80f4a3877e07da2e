/**
 * `dialPeer`: direct addresses first for at most `directDialTimeout`, then
 * the relays the target holds reservations on (see `relay-candidates.ts`),
 * one attempt each, at most `maxRelayAttempts`, each for at most
 * `relayDialTimeout`; then, over a relayed connection, up to
 * `upgradeTimeout` for the peer's direct connection (a reversal or a hole
 * punch, see `dcutr-tracker.ts`). An abort rejects at once with the
 * signal's reason, whichever step it comes in.
 */
import { isCircuitAddr, isRelayed } from './addresses.ts'
import { ConnectivityDialError, NoDialableAddressError, abortReason } from './errors.ts'
import { relayCandidates } from './relay-candidates.ts'
import type { DCUtRTracker } from './dcutr-tracker.ts'
import type { RelayCandidatesInit } from './relay-candidates.ts'
import type { AbortOptions, Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionPath } from '@x/interface'

export interface DialPeerOptions extends AbortOptions {
  /** Addresses to try besides those in the peer store (direct ones instead of them) */
  addrs?: Multiaddr[]
  /** Fall back to a relay when no direct address works (default true) */
  useRelay?: boolean
  /** Override `directDialTimeout` for this dial */
  directDialTimeout?: number
  /** Override `relayDialTimeout` for this dial */
  relayDialTimeout?: number
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
  /**
   * `direct`, `relay`, or, when the relayed connection was replaced in time,
   * `reversal` (the peer dialled us) or `hole-punch` (after a DCUtR exchange)
   */
  path: ConnectionPath
  /** True when an open direct connection was reused and nothing was dialled */
  existing: boolean
  /** The relayed connection, when the path went through a relay */
  relayed?: Connection
  attempts: DialAttempt[]
}

export interface FallbackDialerInit extends RelayCandidatesInit {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  peerStore: Pick<PeerStore, 'get'>
  dcutr: Pick<DCUtRTracker, 'waitForUpgrade' | 'isPending'>
  /** The path a connection took, as the service classified it when it opened */
  pathOf(conn: Connection): ConnectionPath | undefined
  /** Addresses discovery modules reported for the peer */
  discoveredAddrs(peer: PeerId): Multiaddr[]
  directDialTimeout: number
  relayDialTimeout: number
  upgradeTimeout: number
  maxRelayAttempts: number
  now(): number
}

export class FallbackDialer {
  private readonly init: FallbackDialerInit

  constructor (init: FallbackDialerInit) {
    this.init = init
  }

  async dial (peer: PeerId, options: DialPeerOptions = {}): Promise<DialResult> {
    const { connectionManager } = this.init
    const attempts: DialAttempt[] = []
    throwIfAborted(options.signal)
    const existing = connectionManager.getConnections(peer).find(c => c.status === 'open' && !isRelayed(c))

    if (existing != null) {
      return { connection: existing, path: 'direct', existing: true, attempts }
    }

    const stored = await this.storedAddrs(peer, options)
    throwIfAborted(options.signal)
    const given = (options.addrs ?? []).map(ma => ensurePeerId(ma, peer))
    const direct = (options.addrs != null ? given : stored.map(ma => ensurePeerId(ma, peer))).filter(ma => !isCircuitAddr(ma))

    if (direct.length > 0) {
      const conn = await this.attempt('direct', direct, options.directDialTimeout ?? this.init.directDialTimeout, attempts, options)

      if (conn != null && !isRelayed(conn)) {
        return { connection: conn, path: 'direct', existing: false, attempts }
      }
    }

    if (options.useRelay !== false) {
      const circuits = [...given, ...stored, ...this.init.discoveredAddrs(peer)]
      const candidates = (await relayCandidates(peer, circuits, this.init, options)).slice(0, this.init.maxRelayAttempts)

      for (const { relay, addrs } of candidates) {
        throwIfAborted(options.signal)
        const conn = await this.attempt('relay', addrs, options.relayDialTimeout ?? this.init.relayDialTimeout, attempts, options, relay)

        if (conn != null) {
          const result = await this.awaitUpgrade(peer, conn, attempts, options)

          if (result != null) {
            return result
          }
        }
      }
    }

    if (attempts.length === 0) {
      throw new NoDialableAddressError(`no direct address for ${peer}${options.useRelay === false ? ' and relaying is off' : ' and no relay it holds a reservation on is known'}`)
    }

    throw new ConnectivityDialError(`could not reach ${peer}`, attempts)
  }

  /** The dial's result over `relayed`, or undefined when it closed with no direct connection to replace it (the attempt is marked failed) */
  private async awaitUpgrade (peer: PeerId, relayed: Connection, attempts: DialAttempt[], options: DialPeerOptions): Promise<DialResult | undefined> {
    const timeout = options.upgradeTimeout ?? this.init.upgradeTimeout
    const direct = this.init.connectionManager.getConnections(peer).find(c => c.status === 'open' && !isRelayed(c))

    if (direct != null) {
      return { connection: direct, path: this.init.pathOf(direct) ?? 'direct', existing: false, relayed, attempts }
    }

    if (timeout > 0 && this.init.dcutr.isPending(peer)) {
      const upgrade = await this.init.dcutr.waitForUpgrade(peer, timeout, options.signal)

      if (upgrade != null) {
        return { connection: upgrade.connection, path: upgrade.path, existing: false, relayed, attempts }
      }
    }

    throwIfAborted(options.signal)

    if (relayed.status !== 'open') {
      const attempt = attempts.at(-1)

      if (attempt != null) {
        attempt.error = `ConnectionClosedError: the relayed connection ${relayed.status === 'closing' ? 'is closing' : 'closed'} before an upgrade`
      }

      return undefined
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
      throwIfAborted(options.signal)
      return undefined
    }
  }

  private async storedAddrs (peer: PeerId, options: AbortOptions): Promise<Multiaddr[]> {
    try {
      const stored = await this.init.peerStore.get(peer, options)
      return stored.addresses.map(a => a.multiaddr)
    } catch {
      return []
    }
  }
}

function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) {
    throw abortReason(signal)
  }
}

function ensurePeerId (ma: Multiaddr, peer: PeerId): Multiaddr {
  const last = ma.getComponents().at(-1)

  if (last?.name === 'p2p') {
    return ma
  }

  return ma.encapsulate(`/p2p/${peer.toString()}`)
}
