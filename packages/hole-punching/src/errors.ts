/**
 * Errors of the hole punching service; callers test `err.name`.
 */

/** An option passed to `holePunching()` is invalid */
export class InvalidHolePunchingOptionError extends Error {
  static name = 'InvalidHolePunchingOptionError'
  name = 'InvalidHolePunchingOptionError'
}

/** We know no public TCP address of our own (too few peers observed our NAT's address) */
export class NoPublicAddressError extends Error {
  static name = 'NoPublicAddressError'
  name = 'NoPublicAddressError'
}

/** The peer's CONNECT carried no public IPv4 TCP address we could dial */
export class NoDialableAddressError extends Error {
  static name = 'NoDialableAddressError'
  name = 'NoDialableAddressError'
}

/** A DCUtR message of the wrong type, or a stream on a connection the protocol does not allow */
export class UnexpectedMessageError extends Error {
  static name = 'UnexpectedMessageError'
  name = 'UnexpectedMessageError'
}

/** No simultaneous connect to any of the peer's addresses succeeded in time */
export class PunchFailedError extends Error {
  static name = 'PunchFailedError'
  name = 'PunchFailedError'
}

/** `maxConcurrent` hole punches already run */
export class TooManyHolePunchesError extends Error {
  static name = 'TooManyHolePunchesError'
  name = 'TooManyHolePunchesError'
}
