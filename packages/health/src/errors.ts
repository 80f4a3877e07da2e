/**
 * Errors the health service throws; callers test `err.name`.
 */

/** An option passed to `connectionHealth()` is invalid */
export class InvalidHealthOptionError extends Error {
  static name = 'InvalidHealthOptionError'
  name = 'InvalidHealthOptionError'
}

/** A ping probe got the wrong bytes back */
export class PingMismatchError extends Error {
  static name = 'PingMismatchError'
  name = 'PingMismatchError'
}

/**
 * The remote does not speak `/ipfs/ping/1.0.0`; `negotiationMs` is how long
 * it took to say so, one round trip
 */
export class PingUnsupportedError extends Error {
  static name = 'PingUnsupportedError'
  name = 'PingUnsupportedError'
  public readonly negotiationMs: number

  constructor (negotiationMs: number, options?: ErrorOptions) {
    super('the remote does not support ping', options)
    this.negotiationMs = negotiationMs
  }
}
