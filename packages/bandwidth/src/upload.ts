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
 * writer waits for `drain`. Each grant (and each `drain` of the muxer) runs
 * the stream's send queue again; writers get `drain` when the write buffer
 * is empty (`gatedDispatchEvent`). So:
 *
 * - writers slow down instead of buffering: a writer that ignores `send()`
 * returning false fills the stream's write buffer up to
 * `maxWriteBufferLength` (set to `DEFAULT_MAX_WRITE_BUFFER` when the
 * stream has none) and the stream is reset with libp2p's
 * `StreamBufferError`, as without shaping;
 * - `close()` waits until the shaped bytes are sent, `abort()` discards them,
 * no byte is lost or reordered;
 * - a muxer that is itself full keeps working as before: its own `drain`
 * resumes the stream, which still holds its grant.
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
const DISPATCH = Symbol.for('@x/bandwidth/dispatch')

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

interface Drainable {
  processSendQueue?(): boolean
  writableNeedsDrain: boolean
  writeBufferLength: number
  writeStatus: string
  dispatchEvent(event: Event): boolean
  [STATE]?: UploadState
  [DISPATCH]?(event: Event): boolean
}

/**
 * Every `drain` of a shaped stream - the muxer's (window update, socket
 * drained) and the scheduler's (a grant) - first runs the stream's send
 * queue; writers get the event only once the write buffer is empty. A
 * muxer's `drain` says "the window opened", which under shaping is not
 * "you may write": passing each one on would let a writer add a chunk per
 * yamux window update and grow the buffer without end.
 */
function gatedDispatchEvent (this: Drainable, event: Event): boolean {
  const dispatch = this[DISPATCH] as (event: Event) => boolean

  if (event.type === 'drain' && this[STATE] != null && typeof this.processSendQueue === 'function' &&
    (this.writeStatus === 'writable' || this.writeStatus === 'closing')) {
    this.writableNeedsDrain = false

    try {
      this.processSendQueue()
    } catch {
      // the muxer's send threw: processSendQueue aborted the stream and
      // rethrew; thrown here it would reach the muxer's `drain` listener
      // (an uncaught exception), so only the abort remains, as in libp2p's
      // own drain handling
    }

    if (this.writableNeedsDrain || this.writeBufferLength > 0) {
      return true
    }
  }

  return dispatch.call(this, event)
}

/** Wake-up for a stream the scheduler granted: a `drain`, gated as above */
export function wakeStream (stream: Stream): void {
  stream.dispatchEvent(new Event('drain'))
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
  const d = s as unknown as Drainable

  if (d[DISPATCH] == null) {
    d[DISPATCH] = d.dispatchEvent
    d.dispatchEvent = gatedDispatchEvent
  }

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

  const d = s as unknown as Drainable

  if (d.dispatchEvent === gatedDispatchEvent && d[DISPATCH] != null) {
    d.dispatchEvent = d[DISPATCH]
    d[DISPATCH] = undefined
  }

  s[STATE] = undefined
  state.scheduler.remove(state.flow)
  wakeStream(stream)
}
