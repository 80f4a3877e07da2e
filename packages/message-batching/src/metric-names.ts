/**
 * The one place the batching metric names are defined. Every name is the
 * `metricsPrefix` (default `x_batching_`) plus the suffix below; counters
 * end in `_total` and only counters do. Each is a libp2p metric group whose
 * label keys are listed.
 */

export const METRIC_SUFFIXES = {
  /** counter, labels `sent`, `received` */
  messages: 'messages_total',
  /** counter, labels `sent`, `answered`, `failed`, `timed_out`, `lost`, `received`, `late_responses` */
  requests: 'requests_total',
  /** counter, labels `sent`, `received`, `compressed` */
  batches: 'batches_total',
  /** counter, labels `sent_uncompressed`, `sent_wire`, `received_wire` */
  bytes: 'bytes_total',
  /** counter, labels are the flush causes: `idle`, `drain`, `size`, `bytes`, `priority`, `timeout` */
  flushes: 'flushes_total',
  /** counter, labels are error names (`FrameTooLargeError` ...) of streams reset for bad input */
  protocolErrors: 'protocol_errors_total',
  /** counter, labels `handler_errors`, `handler_timeouts`, `opened`, `open_failures`, `inbound_refused`, `pending_answer_resets` */
  events: 'events_total',
  /** gauge, labels `high`, `normal`, `low`: queued messages and requests over all peers */
  queueLength: 'queue_length',
  /** gauge, labels `messages_per_second`, `batches_per_second`, `mean_batch_size`, `peers`, `inbound_streams`, `pending_answer_bytes` */
  status: 'status'
} as const

export type MetricKey = keyof typeof METRIC_SUFFIXES

export function metricName (prefix: string, key: MetricKey): string {
  return `${prefix}${METRIC_SUFFIXES[key]}`
}
