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
