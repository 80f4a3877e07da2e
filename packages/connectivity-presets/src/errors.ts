/**
 * One error class per failure; callers test `err.name`.
 */

/** `connectivityPreset()` was asked for a profile it does not know */
export class UnknownProfileError extends Error {
  static name = 'UnknownProfileError'
  name = 'UnknownProfileError'
}

/** The `private` profile needs a swarm key (`overrides.swarmKey`) */
export class MissingSwarmKeyError extends Error {
  static name = 'MissingSwarmKeyError'
  name = 'MissingSwarmKeyError'
}

/** The profile needs Node (TCP, QUIC, mDNS) and was asked for in a browser build */
export class UnsupportedProfileError extends Error {
  static name = 'UnsupportedProfileError'
  name = 'UnsupportedProfileError'
}
