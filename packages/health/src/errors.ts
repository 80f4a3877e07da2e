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

/**
 * A probe went unanswered while this process's own event loop was stalled
 * (a starved host, a long GC): the remote had less than `pingTimeout` of our
 * awake time to answer, so this is not counted as the connection's failure
 */
export class LoopStalledError extends Error {
  static name = 'LoopStalledError'
  name = 'LoopStalledError'
}

/** What a connection is aborted with when it failed every probe and carried no stream */
export class DeadConnectionError extends Error {
  static name = 'DeadConnectionError'
  name = 'DeadConnectionError'

  constructor (message = 'the connection failed every health probe and carried no stream') {
    super(message)
  }
}
