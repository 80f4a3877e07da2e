/**
 * Every metric name of the package, in one place, used by the Prometheus
 * text and the libp2p `metrics` registration alike. Counters end in
 * `_total` and only counters do.
 */

export interface MetricNames {
  /** counter {direction, class} */
  classBytes: string
  /** counter {direction, peer} */
  peerBytes: string
  /** counter {direction, protocol} */
  protocolBytes: string
  /** gauge {scope, name, direction, window}: scope is node | peer | protocol | class */
  rate: string
  /** gauge {class} */
  queueStreams: string
  /** gauge {class} */
  queueBytes: string
  /** gauge {class}: EWMA of the waits */
  queueDelay: string
  /** gauge {class}: longest wait over the last 1-2 s */
  queueDelayMax: string
  /** gauge {class} */
  openStreams: string
  /** counter */
  unshapedStreams: string
  /** counter */
  downloadPauses: string
  /** gauge {connection} */
  congestionRate: string
  /** gauge {connection}: current minus base RTT */
  congestionQueuingDelay: string
}

export function metricNames (prefix: string): MetricNames {
  return {
    classBytes: `${prefix}class_bytes_total`,
    peerBytes: `${prefix}peer_bytes_total`,
    protocolBytes: `${prefix}protocol_bytes_total`,
    rate: `${prefix}rate_bytes_per_second`,
    queueStreams: `${prefix}queue_streams`,
    queueBytes: `${prefix}queue_bytes`,
    queueDelay: `${prefix}queue_delay_seconds`,
    queueDelayMax: `${prefix}queue_delay_max_seconds`,
    openStreams: `${prefix}open_streams`,
    unshapedStreams: `${prefix}unshaped_streams_total`,
    downloadPauses: `${prefix}download_pauses_total`,
    congestionRate: `${prefix}congestion_rate_bytes_per_second`,
    congestionQueuingDelay: `${prefix}congestion_queuing_delay_seconds`
  }
}
