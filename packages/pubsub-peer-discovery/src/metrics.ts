/**
 * Counters of what the module received, accepted, dropped (by reason) and
 * sent, exposed by `getMetrics()` and to libp2p's `metrics` component.
 */
import { DROP_REASONS } from './validate.ts'
import type { DropReason } from './validate.ts'
import type { Metrics } from '@libp2p/interface'

/** The metric names, after the prefix (`metricsPrefix`, default `x_pubsub_discovery_`) */
export const METRIC_NAMES = {
  messages: 'messages_total',
  dropped: 'dropped_total',
  exchangedRecords: 'exchanged_records_total',
  directExchanges: 'direct_exchanges_total',
  receivedBytes: 'received_bytes_total',
  filteredAddresses: 'filtered_addresses_total',
  peers: 'peers'
} as const

export interface DiscoveryMetrics {
  /** Messages on our topics */
  received: number
  /** Bytes of those messages */
  receivedBytes: number
  /** Valid announcements from other peers */
  accepted: number
  /** `peer` events dispatched */
  emitted: number
  /** Of those, for peers learned from records other peers relayed */
  relayed: number
  /** Other peers' records our announcements carried */
  exchangedRecords: number
  /** Direct exchanges we opened (D1, D2: repeats included) */
  exchangesOpened: number
  /** Direct exchanges we answered (D4) */
  exchangesAnswered: number
  /** Messages dropped, by reason */
  dropped: Record<DropReason, number>
  /** Announcements we published, per topic publish */
  announced: number
  /**
   * Publishes the pubsub service rejected, threw or sent to nobody, and announcements we
   * could not build (topics without subscribers are skipped, not counted)
   */
  announceFailures: number
  /** Addresses of other peers the incoming filter dropped */
  filteredAddresses: number
  /** Peers heard recently on our topics */
  peers: number
}

export class DiscoveryMetricsRecorder {
  received = 0
  receivedBytes = 0
  accepted = 0
  emitted = 0
  relayed = 0
  exchangedRecords = 0
  exchangesOpened = 0
  exchangesAnswered = 0
  announced = 0
  announceFailures = 0
  filteredAddresses = 0
  readonly dropped = Object.fromEntries(DROP_REASONS.map(r => [r, 0])) as Record<DropReason, number>

  drop (reason: DropReason): void {
    this.dropped[reason]++
  }

  snapshot (peers: number): DiscoveryMetrics {
    return {
      received: this.received,
      receivedBytes: this.receivedBytes,
      accepted: this.accepted,
      emitted: this.emitted,
      relayed: this.relayed,
      exchangedRecords: this.exchangedRecords,
      exchangesOpened: this.exchangesOpened,
      exchangesAnswered: this.exchangesAnswered,
      dropped: { ...this.dropped },
      announced: this.announced,
      announceFailures: this.announceFailures,
      filteredAddresses: this.filteredAddresses,
      peers
    }
  }

  /** Registers the metrics with libp2p's `metrics`, names prefixed with `prefix` */
  register (metrics: Metrics | undefined, prefix: string, peers: () => number): void {
    if (metrics == null) {
      return
    }

    metrics.registerCounterGroup(`${prefix}${METRIC_NAMES.messages}`, {
      help: 'Discovery messages by outcome',
      calculate: () => ({ received: this.received, accepted: this.accepted, emitted: this.emitted, relayed: this.relayed, announced: this.announced, announce_failures: this.announceFailures })
    })
    metrics.registerCounterGroup(`${prefix}${METRIC_NAMES.dropped}`, {
      help: 'Discovery messages dropped, by reason',
      calculate: () => ({ ...this.dropped })
    })
    metrics.registerCounter(`${prefix}${METRIC_NAMES.exchangedRecords}`, {
      help: 'Other peers\' signed records our announcements carried to joining peers',
      calculate: () => this.exchangedRecords
    })
    metrics.registerCounterGroup(`${prefix}${METRIC_NAMES.directExchanges}`, {
      help: 'Direct exchanges with peers dialed while joining, opened by us or answered',
      calculate: () => ({ opened: this.exchangesOpened, answered: this.exchangesAnswered })
    })
    metrics.registerCounter(`${prefix}${METRIC_NAMES.receivedBytes}`, {
      help: 'Bytes of discovery messages received',
      calculate: () => this.receivedBytes
    })
    metrics.registerCounter(`${prefix}${METRIC_NAMES.filteredAddresses}`, {
      help: 'Addresses of other peers the incoming address filter dropped',
      calculate: () => this.filteredAddresses
    })
    metrics.registerMetric(`${prefix}${METRIC_NAMES.peers}`, {
      help: 'Peers heard recently on the discovery topics',
      calculate: peers
    })
  }
}
