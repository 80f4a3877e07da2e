/**
 * Observes the outcome of every outbound stream opened on a connection,
 * whoever opens it (the pool, another service, the application), by wrapping
 * the connection's `newStream`. The health service's own probes are marked
 * with `PROBE_STREAM` in their options and are not counted (they are probes,
 * not streams). A stream open the caller cancelled on purpose (its own
 * signal aborted with anything but a timeout) is not the connection's fault
 * and is not counted either, nor are refusals that say nothing about the
 * connection (`NOT_CONNECTION_FAILURES`: a protocol the remote does not
 * speak, a local stream limit, a limited connection).
 *
 * Connections whose `newStream` cannot be wrapped (a frozen object, a
 * wrapper without the method) fall back to what `@x/connection-pool`
 * reports in `pool:stream` events.
 */
import type { AbortOptions, Connection } from '@libp2p/interface'

/** Stream-open errors that are not the connection's fault */
export const NOT_CONNECTION_FAILURES = new Set([
  'UnsupportedProtocolError',
  'UnhandledProtocolError',
  'InvalidParametersError',
  'LimitedConnectionError',
  'TooManyOutboundProtocolStreamsError'
])

/** Marks a stream open as the health service's own probe */
export const PROBE_STREAM = Symbol.for('@x/health/probe-stream')

export type StreamOutcomeListener = (ok: boolean, errorName: string | undefined) => void

type NewStream = Connection['newStream']

/** Starts observing; returns the function that stops it, or undefined when the connection cannot be observed */
export function tapStreams (connection: Connection, onOutcome: StreamOutcomeListener): (() => void) | undefined {
  const original: NewStream | undefined = connection.newStream

  if (typeof original !== 'function') {
    return undefined
  }

  const observed: NewStream = async function (this: Connection, protocols, options?: AbortOptions & Record<symbol, unknown>) {
    if (options?.[PROBE_STREAM] === true) {
      return original.call(this, protocols, options)
    }

    try {
      const stream = await original.call(this, protocols, options)
      onOutcome(true, undefined)
      return stream
    } catch (err: any) {
      const name: string = typeof err?.name === 'string' ? err.name : 'Error'

      if (!cancelledByCaller(options?.signal) && !NOT_CONNECTION_FAILURES.has(name)) {
        onOutcome(false, name)
      }

      throw err
    }
  }

  try {
    connection.newStream = observed
  } catch {
    return undefined
  }

  if (connection.newStream !== observed) {
    return undefined
  }

  return () => {
    if (connection.newStream === observed) {
      connection.newStream = original
    }
  }
}

/** The caller gave up on purpose: its signal aborted, and not by a timeout */
function cancelledByCaller (signal?: AbortSignal): boolean {
  if (signal?.aborted !== true) {
    return false
  }

  const reason = signal.reason
  return reason?.name !== 'TimeoutError'
}
