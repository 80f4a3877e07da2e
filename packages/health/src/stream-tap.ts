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
 *
 * The observing `newStream` is one function shared by every connection (it
 * finds the sink and the original `newStream` on the connection), so a
 * tapped connection costs no closures.
 */
import { NOT_CONNECTION_FAILURES } from '@x/interface'
import type { AbortOptions, Connection, Stream } from '@libp2p/interface'

/** Marks a stream open as the health service's own probe */
export const PROBE_STREAM = Symbol.for('@x/health/probe-stream')

const SINK = Symbol.for('@x/health/stream-sink')
const NEW_STREAM = Symbol.for('@x/health/new-stream')

/** Where outcomes go (a `ConnectionRecord`) */
export interface StreamOutcomeSink {
  streamOutcome(ok: boolean, errorName: string | undefined, now: number): void
}

type NewStream = Connection['newStream']

interface Tappable {
  newStream: NewStream
  [SINK]?: StreamOutcomeSink
  [NEW_STREAM]?: NewStream
}

async function observedNewStream (this: Tappable, protocols: string | string[], options?: AbortOptions & Record<symbol, unknown>): Promise<Stream> {
  const original = this[NEW_STREAM] as NewStream
  const sink = this[SINK]

  if (sink == null || options?.[PROBE_STREAM] === true) {
    return original.call(this, protocols, options)
  }

  try {
    const stream = await original.call(this, protocols, options)
    sink.streamOutcome(true, undefined, Date.now())
    return stream
  } catch (err: any) {
    const name: string = typeof err?.name === 'string' ? err.name : 'Error'

    if (!cancelledByCaller(options?.signal) && !NOT_CONNECTION_FAILURES.has(name)) {
      sink.streamOutcome(false, name, Date.now())
    }

    throw err
  }
}

/** Starts observing the connection's stream opens into `sink`; false when the connection cannot be observed */
export function tapStreams (connection: Connection, sink: StreamOutcomeSink): boolean {
  const tappable = connection as unknown as Tappable

  if (typeof tappable.newStream !== 'function') {
    return false
  }

  try {
    if (tappable[NEW_STREAM] == null) {
      tappable[NEW_STREAM] = tappable.newStream
    }

    tappable.newStream = observedNewStream as NewStream
    tappable[SINK] = sink
  } catch {
    return false
  }

  return tappable.newStream === observedNewStream && tappable[SINK] === sink
}

/** Stops observing the connection's stream opens and restores its own `newStream` */
export function untapStreams (connection: Connection): void {
  const tappable = connection as unknown as Tappable

  if (tappable[SINK] == null) {
    return
  }

  if (tappable.newStream === observedNewStream) {
    tappable.newStream = tappable[NEW_STREAM] as NewStream
  }

  // set, not deleted: deleting would slow every later property access
  tappable[SINK] = undefined
}

/** The caller gave up on purpose: its signal aborted, and not by a timeout */
function cancelledByCaller (signal?: AbortSignal): boolean {
  if (signal?.aborted !== true) {
    return false
  }

  const reason = signal.reason
  return reason?.name !== 'TimeoutError'
}
