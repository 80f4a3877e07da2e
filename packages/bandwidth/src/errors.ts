/**
 * Errors the bandwidth manager throws; callers test `err.name`.
 */

/** An option passed to `bandwidthManager()` is invalid */
export class InvalidBandwidthOptionError extends Error {
  static name = 'InvalidBandwidthOptionError'
  name = 'InvalidBandwidthOptionError'
}

/** A stream was written to after its writable end was closed */
export class StreamWriteClosedError extends Error {
  static name = 'StreamWriteClosedError'
  name = 'StreamWriteClosedError'
}
