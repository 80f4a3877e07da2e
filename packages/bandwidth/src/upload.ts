/**
 * Upload shaping of one stream, through the libp2p 3 stream contract.
 *
 * Streams built on `@libp2p/utils`' `AbstractMessageStream` (yamux, mplex,
 * QUIC, WebRTC ...) move bytes from their write buffer to the wire through
 * one method, `sendData(buf)`, which answers how many bytes it sent and
 * whether more may follow. The shaped `sendData` sends only what the
 * scheduler granted; when the grant is used up it answers "sent n, no more
 * for now", exactly as a muxer out of send window does. The stream then
 * keeps the rest in its own write buffer, `send()` returns false, and the
 * writer waits for `drain`. Each grant runs the stream's send queue again;
 * `drain` is dispatched when the write buffer is empty. So:
 *
 * - writers slow down instead of buffering: a writer that ignores `send()`
 *   returning false fills the stream's write buffer up to
 *   `maxWriteBufferLength` (set to `DEFAULT_MAX_WRITE_BUFFER` when the
 *   stream has none) and the stream is reset with libp2p's
 *   `StreamBufferError`, as without shaping;
 * - `close()` waits until the shaped bytes are sent, `abort()` discards them,
 *   no byte is lost or reordered;
 * - a muxer that is itself full keeps working as before: its own `drain`
 *   resumes the stream, which still holds its grant.
 *
 * The shaped `sendData` is one function shared by every stream (the state
 * hangs off the stream under a symbol), so a shaped stream costs no
 * closures.
 */
import { DEFAULT_MAX_WRITE_BUFFER } from './constants.ts'
import type { Flow, Scheduler } from './scheduler.ts'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

interface SendResult {
  sentBytes: number
  canSendMore: boolean
}

type SendData = (buf: Uint8ArrayList) => SendResult

export interface UploadState {
  readonly flow: Flow
  readonly scheduler: Scheduler
  readonly sendData: SendData
  /** Bytes that reached the muxer */
  onSent(bytes: number): void
}

const STATE = Symbol.for('@x/bandwidth/upload')

interface Shapeable {
  sendData?: SendData
  writeBufferLength: number
  maxWriteBufferLength?: number
  [STATE]?: UploadState
}

function shapedSendData (this: Shapeable, buf: Uint8ArrayList): SendResult {
  const state = this[STATE] as UploadState
  let sentBytes = 0

  while (buf.byteLength > 0) {
    if (state.flow.credit < 1) {
      // the stream's write buffer already had `buf` taken out of it
      const granted = state.scheduler.request(state.flow, buf.byteLength + this.writeBufferLength)

      if (granted < 1) {
        return { sentBytes, canSendMore: false }
      }
    }

    const allowed = Math.min(Math.floor(state.flow.credit), buf.byteLength)
    const result = state.sendData.call(this, allowed === buf.byteLength ? buf.sublist() : buf.sublist(0, allowed))
    buf.consume(result.sentBytes)
    sentBytes += result.sentBytes
    state.scheduler.consume(state.flow, result.sentBytes)
    state.onSent(result.sentBytes)

    if (!result.canSendMore || result.sentBytes < allowed) {
      return { sentBytes, canSendMore: result.canSendMore }
    }
  }

  return { sentBytes, canSendMore: true }
}

/**
 * Wake-up for a stream the scheduler granted: its send queue runs again
 * (`processSendQueue`, as after a muxer's drain), and writers get `drain`
 * only once its write buffer is empty - a `drain` per grant would let a
 * writer add a chunk per grant and grow the buffer without end
 */
export function wakeStream (stream: Stream): void {
  const s = stream as unknown as { processSendQueue?(): boolean, writableNeedsDrain: boolean, writeBufferLength: number, writeStatus: string }

  if (typeof s.processSendQueue !== 'function') {
    stream.dispatchEvent(new Event('drain'))
    return
  }

  if (s.writeStatus !== 'writable' && s.writeStatus !== 'closing') {
    return
  }

  s.writableNeedsDrain = false
  s.processSendQueue()

  if (!s.writableNeedsDrain && s.writeBufferLength === 0) {
    stream.dispatchEvent(new Event('drain'))
  }
}

/** Can this stream be shaped (it has the `sendData` hook)? */
export function canShapeUpload (stream: Stream): boolean {
  return typeof (stream as unknown as Shapeable).sendData === 'function'
}

/** Routes the stream's writes through the scheduler */
export function shapeUpload (stream: Stream, state: Omit<UploadState, 'sendData'>): boolean {
  const s = stream as unknown as Shapeable

  if (typeof s.sendData !== 'function' || s[STATE] != null) {
    return false
  }

  s[STATE] = { ...state, sendData: s.sendData }
  s.sendData = shapedSendData

  if (s.maxWriteBufferLength == null) {
    s.maxWriteBufferLength = DEFAULT_MAX_WRITE_BUFFER
  }

  return true
}

/** Stops shaping the stream (the service stopped): writes go straight through again */
export function unshapeUpload (stream: Stream): void {
  const s = stream as unknown as Shapeable
  const state = s[STATE]

  if (state == null) {
    return
  }

  if (s.sendData === shapedSendData) {
    s.sendData = state.sendData
  }

  s[STATE] = undefined
  state.scheduler.remove(state.flow)
  wakeStream(stream)
}
