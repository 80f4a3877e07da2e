/**
 * Errors the pool throws; callers test `err.name`. Besides these: an
 * argument that is not a `PeerId`, `Multiaddr` or `Multiaddr[]` (or
 * multiaddrs naming different peers), protocols, options or a signal of
 * the wrong type, or a peer that is not a `PeerId` given to a query method
 * or `release()`, is an `InvalidParametersError`, and an
 * aborted call rejects with its signal's reason (an `AbortError`), or with
 * an `AbortError` when `release()` or `stop()` cut it short.
 */

/** An option passed to `connectionPool()` is invalid */
export class InvalidPoolOptionError extends Error {
  static name = 'InvalidPoolOptionError'
  name = 'InvalidPoolOptionError'
}

/** `strategy` names no known strategy and is not a function */
export class UnknownStrategyError extends Error {
  static name = 'UnknownStrategyError'
  name = 'UnknownStrategyError'
}

/** Every dial attempt to the peer failed */
export class PeerDialFailedError extends Error {
  static name = 'PeerDialFailedError'
  name = 'PeerDialFailedError'
  public readonly attempts: number

  constructor (message: string, attempts: number, options?: ErrorOptions) {
    super(message, options)
    this.attempts = attempts
  }
}

/**
 * The pool holds `maxConnections` already, manages `maxPeers` peers that
 * are all kept or busy, or has `MAX_LEARNING_DIALS` dials under way that
 * learn the peers of addresses without a peer id
 */
export class PoolLimitReachedError extends Error {
  static name = 'PoolLimitReachedError'
  name = 'PoolLimitReachedError'
}

/** No connection could carry the stream: every one failed and a new dial did too */
export class NoConnectionAvailableError extends Error {
  static name = 'NoConnectionAvailableError'
  name = 'NoConnectionAvailableError'
}

/** The pool is not started */
export class PoolNotStartedError extends Error {
  static name = 'PoolNotStartedError'
  name = 'PoolNotStartedError'
}
