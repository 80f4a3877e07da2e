/**
 * Names of the errors a stream open can fail with that say nothing about the
 * connection it was opened on: the remote does not speak the protocol, a
 * local stream limit was reached, the arguments were wrong, or the
 * connection is limited (relayed). Trying another connection to the same
 * peer does not help, and the connection's health is not to blame.
 *
 * `@x/connection-pool` does not fail over on these and `@x/health` does not
 * count them against a connection: one definition, so the two agree.
 */
export const NOT_CONNECTION_FAILURES: ReadonlySet<string> = new Set([
  'UnsupportedProtocolError',
  'InvalidParametersError',
  'LimitedConnectionError',
  'TooManyOutboundProtocolStreamsError'
])
