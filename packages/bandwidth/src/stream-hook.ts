/**
 * Sees every stream of the node, inbound and outbound, whoever opens it.
 *
 * js-libp2p's `Connection` asks the registrar for the protocol's middleware
 * (`registrar.getMiddleware(protocol)`) once per stream, for streams it
 * opens (`newStream`, used by every service and the application) and for
 * streams the remote opens (before the handler runs), on every transport
 * (muxed TCP/WebSockets and native QUIC/WebRTC streams alike), right after
 * the protocol is negotiated and before anyone holds the stream. Wrapping
 * that one method puts our middleware first for every protocol, known or
 * not. Why not elsewhere:
 *
 * - a wrapped stream muxer factory (`bandwidth.muxer(yamux())`) sees streams
 * before their protocol is known, needs a second piece of configuration,
 * and never sees transports with native streams (QUIC, WebRTC);
 * - wrapping connections on `connection:open` races with the services that
 * open streams in their own `connection:open` listeners (identify).
 *
 * The returned array is a fresh one: libp2p pushes the inbound handler onto
 * whatever array it gets.
 */
import type { Connection, Stream, StreamMiddleware } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export type OnStream = (stream: Stream, connection: Connection) => void

interface Hook {
  active: boolean
}

/** Installs the hook; returns the function that disables it */
export function hookStreams (registrar: Registrar, onStream: OnStream, onError: (err: unknown) => void): () => void {
  const hook: Hook = { active: true }
  const unbound = registrar.getMiddleware
  const original = unbound.bind(registrar)
  const middleware: StreamMiddleware = (stream, connection, next) => {
    if (hook.active) {
      try {
        onStream(stream, connection)
      } catch (err) {
        onError(err)
      }
    }

    next(stream, connection)
  }

  const getMiddleware = (protocol: string): StreamMiddleware[] => [middleware, ...original(protocol)]
  registrar.getMiddleware = getMiddleware

  return () => {
    hook.active = false

    // restore only if nobody wrapped it after us; otherwise stay as a pass-through
    if (registrar.getMiddleware === getMiddleware) {
      registrar.getMiddleware = unbound
    }
  }
}
