/**
 * @packageDocumentation
 *
 * DCUtR hole punching over TCP for js-libp2p nodes behind a NAT, without
 * SO_REUSEPORT. It replaces `@libp2p/dcutr` (both register `/libp2p/dcutr`:
 * use one of them). Per punch it picks a free local port P, advertises
 * `<our NAT's public IP>:P` in its CONNECT (the IP as peers observe it through
 * identify), and at the agreed time connects from P to the peer's addresses:
 * behind a port-preserving NAT the SYNs cross and TCP's simultaneous open
 * gives one direct connection, upgraded in the security role go-libp2p
 * expects. See the README for where this holds and where it does not.
 *
 * @example Add it to a node (TCP, a relay transport and identify are needed)
 *
 * ```TypeScript
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
 * import { identify } from '@libp2p/identify'
 * import { tcp } from '@libp2p/tcp'
 * import { holePunching } from '@x/hole-punching'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
 *   transports: [tcp(), circuitRelayTransport()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: {
 *     identify: identify(),
 *     holePunching: holePunching()
 *   }
 * })
 *
 * console.info(node.services.holePunching.getMetrics())
 * await node.stop()
 * ```
 */
import * as c from './constants.ts'
import { InvalidHolePunchingOptionError } from './errors.ts'
import { HolePunchingService } from './service.ts'
import type { ComponentLogger, ConnectionGater, Metrics, PeerId, TypedEventTarget, Libp2pEvents, Upgrader } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export { PROTOCOL } from './constants.ts'
export * from './errors.ts'
export { metricNames } from './metric-names.ts'
export type { MetricNames } from './metric-names.ts'

export interface HolePunchingInit {
  /**
   * Distinct observers (the remote IPs of the connections, one per IPv4
   * address or IPv6 /56, not peer ids) that must report the same public IPv4
   * address of ours (identify's observed address) before we advertise it
   *
   * @default 2
   */
  minObservers?: number

  /**
   * How long one CONNECT/SYNC exchange over the relay may take, ms
   *
   * @default 10_000
   */
  exchangeTimeout?: number

  /**
   * How long one punch (the simultaneous connect and the upgrade) may take,
   * ms; a punch that takes longer fails with `PunchFailedError`
   *
   * @default 10_000
   */
  dialTimeout?: number

  /**
   * Exchanges the initiator runs before it gives up
   *
   * @default 3
   */
  maxAttempts?: number

  /**
   * Hole punches running at once, both roles together; a receiver refuses
   * more (counted as `TooManyHolePunchesError`), an initiator waits for a
   * free slot for up to 30 s (then counts `TooManyHolePunchesError`)
   *
   * @default 8
   */
  maxConcurrent?: number

  /**
   * Also advertise and dial private, loopback and shared (CGNAT) IPv4
   * addresses: for LANs behind a further NAT, and tests on loopback
   *
   * @default false
   */
  allowPrivateAddresses?: boolean

  /**
   * Prefix of the metric names
   *
   * @default 'x_hole_punching_'
   */
  metricsPrefix?: string

  /**
   * Called with every attempt's outcome
   *
   * @default undefined
   */
  onOutcome?(outcome: HolePunchOutcome): void
}

export interface HolePunchingComponents {
  peerId: PeerId
  registrar: Registrar
  upgrader: Upgrader
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
  /** Asked before every punch, as libp2p asks it before a dial (`denyDialPeer`, `denyDialMultiaddr`) */
  connectionGater?: ConnectionGater
}

/** `initiator`: the peer that got the relayed connection inbound and opens the exchange; `receiver`: the one that dialled it */
export type HolePunchRole = 'initiator' | 'receiver'

export interface HolePunchOutcome {
  peer: PeerId
  role: HolePunchRole
  /** 1 for the first exchange with this peer, 2 for the next ... */
  attempt: number
  success: boolean
  /** From the start of the attempt (the exchange) to the upgraded direct connection or the failure */
  durationMs: number
  /** The address we advertised in our CONNECT */
  advertised?: string
  /** The direct connection's remote address, on success */
  remoteAddr?: string
  /** The error's name, on failure */
  error?: string
  message?: string
}

export interface HolePunchingMetrics {
  attempts: number
  successes: number
  failures: number
  failuresByError: Record<string, number>
  /** Hole punches running now */
  active: number
  /** The public IPv4 address we would advertise now */
  publicAddress?: string
}

export interface HolePunching {
  /** Counts of attempts and outcomes */
  getMetrics(): HolePunchingMetrics
  /** The last 64 outcomes, oldest first */
  getOutcomes(): HolePunchOutcome[]
  /** The public IPv4 address peers agree they see us at, or undefined */
  getPublicAddress(): string | undefined
}

function positive (name: string, value: unknown, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidHolePunchingOptionError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`)
  }
}

export function holePunching (init: HolePunchingInit = {}): (components: HolePunchingComponents) => HolePunching {
  const resolved = {
    minObservers: init.minObservers ?? c.DEFAULT_MIN_OBSERVERS,
    exchangeTimeout: init.exchangeTimeout ?? c.DEFAULT_EXCHANGE_TIMEOUT,
    dialTimeout: init.dialTimeout ?? c.DEFAULT_DIAL_TIMEOUT,
    maxAttempts: init.maxAttempts ?? c.DEFAULT_MAX_ATTEMPTS,
    maxConcurrent: init.maxConcurrent ?? c.DEFAULT_MAX_CONCURRENT,
    metricsPrefix: init.metricsPrefix ?? c.DEFAULT_METRICS_PREFIX,
    allowPrivateAddresses: init.allowPrivateAddresses ?? false,
    onOutcome: init.onOutcome
  }
  positive('minObservers', resolved.minObservers, true)
  positive('exchangeTimeout', resolved.exchangeTimeout)
  positive('dialTimeout', resolved.dialTimeout)
  positive('maxAttempts', resolved.maxAttempts, true)
  positive('maxConcurrent', resolved.maxConcurrent, true)

  if (typeof resolved.metricsPrefix !== 'string') {
    throw new InvalidHolePunchingOptionError('metricsPrefix must be a string')
  }

  if (typeof resolved.allowPrivateAddresses !== 'boolean') {
    throw new InvalidHolePunchingOptionError('allowPrivateAddresses must be a boolean')
  }

  if (resolved.onOutcome != null && typeof resolved.onOutcome !== 'function') {
    throw new InvalidHolePunchingOptionError('onOutcome must be a function')
  }

  return (components) => new HolePunchingService(components, resolved)
}
