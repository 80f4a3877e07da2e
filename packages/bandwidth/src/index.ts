/**
 * @packageDocumentation
 *
 * Traffic shaping, QoS classes, congestion control and bandwidth monitoring
 * under every stream of a js-libp2p 3 node: inbound and outbound, whoever
 * opens it (identify, ping, kad-dht, gossipsub, the application).
 *
 * Each stream is placed in a class by its protocol (longest matching
 * prefix; unknown protocols go to `defaultClass`). Upload goes through one
 * scheduler: token buckets for the node (`maxUpload`), each peer
 * (`perPeer.maxUpload`) and each class (`maxRate`), classes below their
 * `minRate` first, then strict priority between levels, weighted deficit
 * round robin between the classes of a level and round robin between the
 * streams of a class. It works through the libp2p 3 stream contract: a
 * stream over its share makes `send()` return false and gets `drain` when
 * it may go on, so writers slow down instead of buffering. Download is
 * shaped by pausing reading while a budget is spent, so the muxer's flow
 * control (yamux's window) holds the sender back; no byte is dropped
 * (but those a remote reset leaves undelivered).
 *
 * Congestion control (`congestion.enabled`) lowers the rate of background
 * classes (`background: true`) per connection, LEDBAT-style, to keep the
 * queuing delay they add to the path - RTT above the connection's base RTT,
 * sampled with yamux PING frames while the class is busy, and from
 * `@x/health`'s `connection:health` snapshots when that service runs -
 * under `targetDelay`. Other classes are never slowed by it.
 *
 * Monitoring: bytes/s in and out per peer, protocol and class over 1 s and
 * 1 min, queue length and queuing delay per class, in `getMetrics()`,
 * `exportMetrics('prometheus')` and libp2p's `metrics` component, all named
 * `x_bandwidth_*` (see `metricsPrefix`).
 *
 * How it gets under every stream, and why: see `stream-hook.ts`. Streams
 * whose implementation has no `sendData`/`onData` hooks (not built on
 * `@libp2p/utils`' `AbstractMessageStream`) are counted in
 * `streams.unshaped` and left alone.
 *
 * @example Interactive traffic ahead of bulk transfers on a 1 MB/s uplink
 *
 * ```TypeScript
 * import { bandwidthManager } from '@x/bandwidth'
 * import { createLibp2p } from 'libp2p'
 *
 * const node = await createLibp2p({
 *   // ...transports, encrypters, muxers
 *   services: {
 *     bandwidth: bandwidthManager({
 *       maxUpload: 1_000_000,
 *       classes: {
 *         interactive: { protocols: ['/ipfs/ping/', '/chat/'], priority: 1 },
 *         bulk: { protocols: ['/files/'], minRate: 50_000, background: true }
 *       },
 *       congestion: { enabled: true }
 *     })
 *   }
 * })
 *
 * console.info(node.services.bandwidth.getMetrics().classes.bulk.queue)
 * ```
 */

import { BandwidthService } from './bandwidth.ts'
import type { WindowRates } from './rates.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export { InvalidBandwidthOptionError } from './errors.ts'
export type { WindowRates }

export interface BandwidthLimits {
  /**
   * Bytes/s sent
   *
   * @default Infinity
   */
  maxUpload?: number

  /**
   * Bytes/s received
   *
   * @default Infinity
   */
  maxDownload?: number
}

export interface TrafficClassInit {
  /** Protocol prefixes of the class (`'/ipfs/ping/'` matches `/ipfs/ping/1.0.0`); the longest match over all classes wins */
  protocols: string[]

  /**
   * Strict priority level: a higher level is always served first
   *
   * @default 0
   */
  priority?: number

  /**
   * Share of upload among the classes of one level
   *
   * @default 1
   */
  weight?: number

  /**
   * Bytes/s, each direction
   *
   * @default Infinity
   */
  maxRate?: number

  /**
   * Upload bytes/s served ahead of priority while the class has data
   *
   * @default 0
   */
  minRate?: number

  /**
   * Congestion control may lower this class's rate (when enabled)
   *
   * @default false
   */
  background?: boolean
}

export interface CongestionControlInit {
  /**
   * Lower background classes' rate to keep the queuing delay they add under `targetDelay`
   *
   * @default false
   */
  enabled?: boolean

  /**
   * Queuing delay allowed to background classes, ms
   *
   * @default 25
   */
  targetDelay?: number

  /**
   * How often a busy background connection's RTT is sampled, ms
   *
   * @default 100
   */
  sampleInterval?: number
}

export interface BandwidthManagerInit {
  /**
   * Bytes/s the node sends, all peers
   *
   * @default Infinity
   */
  maxUpload?: number

  /**
   * Bytes/s the node receives, all peers
   *
   * @default Infinity
   */
  maxDownload?: number

  /**
   * Limits of each peer
   *
   * @default {}
   */
  perPeer?: BandwidthLimits

  /**
   * Traffic classes by name
   *
   * @default {}
   */
  classes?: Record<string, TrafficClassInit>

  /**
   * The class of streams no class names; a built-in class `default`
   * (priority 0, weight 1) is added when this is not given and no class is
   * called `default`
   *
   * @default 'default'
   */
  defaultClass?: string

  /**
   * LEDBAT-style congestion control of background classes
   *
   * @default { enabled: false, targetDelay: 25 }
   */
  congestion?: CongestionControlInit

  /**
   * How long a token bucket may fill while idle, ms of its rate (the
   * longest burst sent after idling)
   *
   * @default 10
   */
  burstTime?: number

  /**
   * How much unspent rate a busy token bucket keeps when a timer fires late
   * (a busy event loop), ms of its rate: late timers cost no rate up to
   * this, but catching up sends faster than the rate for a moment, which
   * queues at a bottleneck running near the rate. Raise it when
   * `maxUpload` is a budget well below the link; lower it (down to 0) when
   * `maxUpload` is set just under the link to keep its queue empty
   *
   * @default 50
   */
  catchUpTime?: number

  /**
   * Prefix of every metric name
   *
   * @default 'x_bandwidth_'
   */
  metricsPrefix?: string

  /**
   * Peers tracked one by one in the metrics (more are `other`)
   *
   * @default 1024
   */
  maxTrackedPeers?: number

  /**
   * Protocols tracked one by one in the metrics (more are `other`)
   *
   * @default 128
   */
  maxTrackedProtocols?: number
}

export interface BandwidthManagerComponents {
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

export interface DirectionRates {
  in: WindowRates
  out: WindowRates
}

export interface ClassQueueMetrics {
  /** Streams waiting to send */
  streams: number
  /** Bytes they wait to send */
  bytes: number
  /** Wait of the last grant, ms */
  lastDelay: number
  /** EWMA of the waits, ms */
  avgDelay: number
  /** Longest wait over the last 1-2 s, ms */
  maxDelay: number
}

export interface ClassMetrics extends DirectionRates {
  priority: number
  weight: number
  queue: ClassQueueMetrics
  /** Open streams in the class */
  openStreams: number
}

export interface CongestionMetrics {
  /** Connection id */
  connection: string
  peer: string
  /** Upload rate congestion control allows background classes, bytes/s */
  rate: number
  /** Lowest RTT seen, ms */
  baseDelay: number
  /** Filtered current RTT, ms */
  currentDelay: number
  samples: number
}

export interface BandwidthMetrics {
  /** The whole node */
  node: DirectionRates
  peers: Record<string, DirectionRates>
  protocols: Record<string, DirectionRates>
  classes: Record<string, ClassMetrics>
  streams: {
    /** Open streams under the shaper */
    shaped: number
    /** Streams seen that could not be shaped (no `sendData`/`onData` hooks), since start */
    unshaped: number
    /** Times a stream's reading was paused for a download budget, since start */
    downloadPauses: number
  }
  congestion: CongestionMetrics[]
}

export interface BandwidthManager {
  getMetrics(): BandwidthMetrics
  /**
   * The metrics as JSON or Prometheus text (`x_bandwidth_*`)
   *
   * @throws {InvalidParametersError} for another format (the `@libp2p/interface` class)
   */
  exportMetrics(format: 'json' | 'prometheus'): string
  /**
   * The class a protocol falls into
   *
   * @throws {InvalidParametersError} when `protocol` is not a string (the `@libp2p/interface` class)
   */
  classify(protocol: string): string
}

export function bandwidthManager (init: BandwidthManagerInit = {}): (components: BandwidthManagerComponents) => BandwidthManager {
  return (components) => new BandwidthService(components, init)
}
