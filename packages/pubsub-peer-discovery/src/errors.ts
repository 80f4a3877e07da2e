/**
 * Errors the module throws; callers test `err.name`. Bad messages from the
 * network are never thrown: they are dropped and counted by reason.
 */

/** An option passed to `pubsubPeerDiscovery()` is invalid */
export class InvalidDiscoveryOptionError extends Error {
  static name = 'InvalidDiscoveryOptionError'
  name = 'InvalidDiscoveryOptionError'
}

/**
 * The pubsub service took our publish but sent it to nobody (gossipsub knew
 * subscribers but had no outbound stream to any yet); reported, never thrown
 */
export class NoRecipientsError extends Error {
  static name = 'NoRecipientsError'
  name = 'NoRecipientsError'
}

/** No service with the `@libp2p/pubsub` capability was found at start */
export class PubSubNotFoundError extends Error {
  static name = 'PubSubNotFoundError'
  name = 'PubSubNotFoundError'
}
