/**
 * Errors the bandwidth manager throws; callers test `err.name`.
 */

/** An option passed to `bandwidthManager()` is invalid */
export class InvalidBandwidthOptionError extends Error {
  static name = 'InvalidBandwidthOptionError'
  name = 'InvalidBandwidthOptionError'
}
