/**
 * The initiator's exchange stream, opened the way go-libp2p opens a stream
 * for a protocol the peer is known to speak (multistream-select's optimistic
 * or "lazy" mode): the multistream header and the protocol go out in the same
 * write as the CONNECT, and their answer is read just before the peer's
 * CONNECT. `Connection.newStream` of libp2p 3.3 waits for that answer before
 * it returns (it ignores `negotiateFully: false`), which delays the CONNECT by
 * one round trip over the relay.
 *
 * It needs the connection's stream muxer, which libp2p's `Connection` holds
 * (`connection.muxer`) but its interface does not declare: without one,
 * `openUnnegotiated` returns undefined and the caller falls back to
 * `newStream`. The stream goes through the protocol's registered middleware,
 * as one from `newStream` does.
 */
import { ConnectionClosedError, UnsupportedProtocolError } from '@libp2p/interface'
import { UnexpectedMessageError } from './errors.ts'
import type { AbortOptions, Connection, Stream, StreamMiddleware, StreamMuxer } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** multistream-select 1.0.0 (libp2p/specs connections/README.md#protocol-negotiation) */
export const MULTISTREAM_PROTOCOL = '/multistream/1.0.0'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The muxer behind a libp2p `Connection`, when it has one that opens streams */
export function muxerOf (connection: Connection): Pick<StreamMuxer, 'createStream'> | undefined {
  const muxer = (connection as { muxer?: Partial<StreamMuxer> }).muxer
  return typeof muxer?.createStream === 'function' ? muxer as Pick<StreamMuxer, 'createStream'> : undefined
}

/**
 * A new stream on `connection` for `protocol`, nothing negotiated yet (the
 * caller sends `proposal(protocol)` with its first message and reads
 * `readAcceptance` before the peer's first message); undefined when the
 * connection exposes no muxer
 */
export async function openUnnegotiated (connection: Connection, protocol: string, registrar: Pick<Registrar, 'getMiddleware'>, options: AbortOptions & { signal: AbortSignal }): Promise<Stream | undefined> {
  const muxer = muxerOf(connection)

  if (muxer == null) {
    return undefined
  }

  if (connection.status !== 'open') {
    throw new ConnectionClosedError(`the connection is ${connection.status}`)
  }

  const stream = await muxer.createStream(options)
  // what newStream sets once negotiated: trackers that look for the protocol see it
  stream.protocol = protocol

  try {
    return await runMiddleware(stream, connection, registrar.getMiddleware(protocol), options.signal)
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/** Each middleware in turn */
async function runMiddleware (stream: Stream, connection: Connection, middleware: StreamMiddleware[], signal: AbortSignal): Promise<Stream> {
  for (const step of middleware) {
    stream = await runStep(step, stream, connection, signal)
  }

  return stream
}

/** One middleware: the stream it passes to `next`; one that never calls `next` is bounded by `signal` */
async function runStep (step: StreamMiddleware, stream: Stream, connection: Connection, signal: AbortSignal): Promise<Stream> {
  signal.throwIfAborted()

  return new Promise<Stream>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    const settle = (): void => { signal.removeEventListener('abort', onAbort) }
    signal.addEventListener('abort', onAbort, { once: true })

    try {
      Promise.resolve(step(stream, connection, (next) => {
        settle()
        resolve(next)
      })).catch((err) => {
        settle()
        reject(err)
      })
    } catch (err) {
      settle()
      reject(err)
    }
  })
}

/** The multistream-select messages that propose `protocol` on a new stream (each sent length-prefixed) */
export function proposal (protocol: string): Uint8Array[] {
  return [encoder.encode(`${MULTISTREAM_PROTOCOL}\n`), encoder.encode(`${protocol}\n`)]
}

/**
 * Reads the peer's answer to `proposal(protocol)`: returns when it accepted,
 * throws `UnsupportedProtocolError` on `na` and `UnexpectedMessageError` on
 * anything else
 */
export async function readAcceptance (lp: LengthPrefixedStream, protocol: string, options: AbortOptions): Promise<void> {
  const header = decoder.decode((await lp.read(options)).subarray())

  if (header !== `${MULTISTREAM_PROTOCOL}\n`) {
    throw new UnexpectedMessageError(`expected the multistream-select header, got ${JSON.stringify(header.slice(0, 64))}`)
  }

  const answer = decoder.decode((await lp.read(options)).subarray())

  if (answer === 'na\n') {
    throw new UnsupportedProtocolError(`the peer does not handle ${protocol}`)
  }

  if (answer !== `${protocol}\n`) {
    throw new UnexpectedMessageError(`expected ${protocol} or na, got ${JSON.stringify(answer.slice(0, 64))}`)
  }
}
