/**
 * Errors the health service throws or aborts with; callers test `err.name`.
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
 * The remote does not speak the ping protocol; `negotiationMs` is how long
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

/** What a connection is aborted with when it failed every probe and carried no stream */
export class DeadConnectionError extends Error {
  static name = 'DeadConnectionError'
  name = 'DeadConnectionError'

  constructor (message = 'the connection failed every health probe and carried no stream') {
    super(message)
  }
}
