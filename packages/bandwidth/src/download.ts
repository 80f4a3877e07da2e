/**
 * Download shaping of one stream: reading is paused while a budget is
 * spent, so the muxer stops granting the sender more window and the sender
 * is held back by flow control; nothing is dropped but what a remote reset
 * leaves undelivered (`dropAfterReset`).
 *
 * Bytes are counted where the muxer hands them to the stream (`onData`, the
 * `AbstractMessageStream` hook) - before any reader sees them, without
 * adding a `message` listener (that would make the stream deliver data
 * nobody reads yet) - and, when the stream is shaped, what already waits in
 * its read buffer (sent with the protocol). They are charged to the node,
 * peer and class download buckets, which may go into debt; a stream whose
 * buckets are in debt is paused until they refill - from the start when
 * the remote opened it and other streams left them in debt. What the
 * remote already had in flight (at most the stream's receive window) still
 * arrives and waits in the stream's read buffer, whose limit is raised to
 * `MIN_READ_BUFFER` so a full yamux window fits (libp2p would otherwise
 * reset a paused stream past 4 MiB).
 *
 * The application's own `pause()`/`resume()` keep working: the stream reads
 * again only when neither the application nor the shaper holds it.
 *
 * A paused stream's read buffer is not yet delivered, but libp2p's async
 * iterator (`for await (const buf of stream)`) ends on `remoteCloseWrite`
 * and `close`: a FIN arriving while the shaper holds the stream would end
 * the iteration and lose the buffered tail (found with a go sender and
 * `@libp2p/echo`). So while the shaper holds a stream with unread bytes,
 * those two events (without error) are held back and dispatched, in order,
 * right after the buffer is delivered on resume.
 *
 * Strict priority: when there is more than one priority level, streams of
 * the highest level are never paused for the node's or their peer's budget
 * (their bytes still count), only for their class's own `maxRate`; the
 * lower levels wait for the debt they leave.
 */
import { MIN_READ_BUFFER } from './constants.ts'
import type { TokenBucket } from './token-bucket.ts'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

type OnData = (data: Uint8Array | Uint8ArrayList) => void

export interface DownloadState {
  /** Buckets that pause the stream when in debt */
  readonly pausing: TokenBucket[]
  /** Buckets charged without pausing it (strict priority) */
  readonly charged: TokenBucket[]
  /**
   * Buckets paid back for the bytes a remote reset leaves undelivered (the
   * node's and the class's; the peer's keeps the debt)
   */
  readonly refunded?: TokenBucket[]
  /** Bytes received */
  onReceived(bytes: number): void
  now(): number
}

interface InternalState extends DownloadState {
  onData: OnData
  pause(this: Shapeable): void
  resume(this: Shapeable): void
  appPaused: boolean
  shaperPaused: boolean
  timer?: ReturnType<typeof setTimeout>
  /** Times the shaper paused the stream */
  pauses: number
  /** `remoteCloseWrite`/`close` events held while the shaper holds unread bytes */
  held: Event[]
  dispatchEvent(this: Shapeable, event: Event): boolean
}

const STATE = Symbol.for('@x/bandwidth/download')
const ORIGINAL_DISPATCH = Symbol.for('@x/bandwidth/download-dispatch')

interface Shapeable {
  onData?: OnData
  pause(): void
  resume(): void
  readStatus: string
  readBufferLength: number
  maxReadBufferLength: number
  dispatchEvent(event: Event): boolean
  listenerCount(type: string): number
  [STATE]?: InternalState
  [ORIGINAL_DISPATCH]?(event: Event): boolean
}

/** Holds back end-of-stream events while the shaper holds unread bytes */
function heldDispatchEvent (this: Shapeable, event: Event): boolean {
  const state = this[STATE]

  if (state == null) {
    return DISPATCH_FALLBACK.call(this, event)
  }

  if ((event.type === 'remoteCloseWrite' || event.type === 'close') && (event as Event & { error?: Error }).error == null &&
    state.shaperPaused && this.readBufferLength > 0) {
    state.held.push(event)
    return true
  }

  return state.dispatchEvent.call(this, event)
}

/** The stream's own `dispatchEvent`, kept for a stream unshaped under someone else's wrapper */
function DISPATCH_FALLBACK (this: Shapeable, event: Event): boolean {
  const original = this[ORIGINAL_DISPATCH] ?? EventTarget.prototype.dispatchEvent
  return original.call(this, event)
}

/** Resumes reading (delivering the buffer) and then the end-of-stream events held meanwhile */
function release (stream: Shapeable, state: InternalState): void {
  if (!state.appPaused && stream.readStatus === 'paused') {
    if ((stream as unknown as Stream).status === 'reset') {
      dropAfterReset(stream, state)
    } else {
      resumeSafely(stream, state)
    }
  }

  // with no `message` listener there is no reader whose tail a FIN could cut
  // off, and nothing would call this again once a listener drains the
  // buffer: the events would be lost, and with `close` the stream would
  // never leave the connection's, muxer's and this service's books
  if (state.held.length > 0 && (stream.readBufferLength === 0 || state.appPaused || stream.listenerCount('message') === 0)) {
    const held = state.held.splice(0)

    for (const event of held) {
      state.dispatchEvent.call(stream, event)
    }
  }
}

/**
 * The remote reset a stream whose bytes the shaper still holds: they are
 * dropped, as a reset drops what is in flight, instead of being delivered
 * after the reset, and the node and class buckets get them back. Otherwise
 * a peer that fills the first window of fresh streams and resets them
 * would have all of it delivered, and its debt would pause every other
 * peer's streams; its own budget keeps the debt.
 */
function dropAfterReset (stream: Shapeable, state: InternalState): void {
  const bytes = stream.readBufferLength
  const buffer = (stream as unknown as { readBuffer?: { consume(n: number): void } }).readBuffer

  if (bytes === 0 || typeof buffer?.consume !== 'function') {
    return
  }

  buffer.consume(bytes)
  const now = state.now()

  for (const bucket of state.refunded ?? []) {
    bucket.refund(bytes, now)
  }
}

/**
 * Resumes reading. A stream whose connection closed (or that was reset)
 * while paused keeps `readStatus` 'paused' with its unread bytes, and
 * `resume()` delivers them and then tells the muxer (a yamux window update)
 * - a write to a closed connection, which throws `StreamStateError`. That
 * runs from a timer or an event listener, where a throw is uncaught and
 * takes the process down, so it is caught here: the buffer was delivered
 * before the throw; a stream still open that cannot resume is aborted with
 * the error rather than left waiting forever.
 */
function resumeSafely (stream: Shapeable, state: InternalState): void {
  try {
    state.resume.call(stream)
  } catch (err: any) {
    const s = stream as unknown as Stream

    if (s.status === 'open') {
      s.abort(err)
    }
  }
}

function shapedOnData (this: Shapeable, data: Uint8Array | Uint8ArrayList): void {
  const state = this[STATE] as InternalState
  state.onData.call(this, data)

  if (data.byteLength === 0) {
    return
  }

  charge(state, data.byteLength)
  holdIfSpent(this, state)
}

/** Charges received bytes to every bucket over the stream */
function charge (state: InternalState, bytes: number): void {
  const now = state.now()

  for (const bucket of state.charged) {
    bucket.take(bytes, now)
  }

  for (const bucket of state.pausing) {
    bucket.take(bytes, now)
  }

  state.onReceived(bytes)
}

function holdIfSpent (stream: Shapeable, state: InternalState): void {
  const now = state.now()
  let wait = 0

  for (const bucket of state.pausing) {
    wait = Math.max(wait, bucket.wait(now))
  }

  if (wait <= 0) {
    if (state.shaperPaused) {
      state.shaperPaused = false
      release(stream, state)
    }

    return
  }

  if (!state.shaperPaused) {
    if (stream.readStatus !== 'readable' && stream.readStatus !== 'paused') {
      return
    }

    state.shaperPaused = true
    state.pauses++

    if (stream.readStatus === 'readable') {
      state.pause.call(stream)
    }
  }

  if (state.timer == null) {
    state.timer = setTimeout(() => {
      state.timer = undefined

      if (stream[STATE] === state) {
        holdIfSpent(stream, state)
      }
    }, Math.max(1, Math.ceil(wait)))
  }
}

function appPause (this: Shapeable): void {
  const state = this[STATE] as InternalState
  state.appPaused = true
  state.pause.call(this)
}

function appResume (this: Shapeable): void {
  const state = this[STATE] as InternalState
  state.appPaused = false

  if (!state.shaperPaused) {
    state.resume.call(this)
  }
}

/** Can this stream's reading be shaped (it has the `onData` hook)? */
export function canShapeDownload (stream: Stream): boolean {
  return typeof (stream as unknown as Shapeable).onData === 'function'
}

/** Counts and paces the stream's incoming bytes */
export function shapeDownload (stream: Stream, init: DownloadState): boolean {
  const s = stream as unknown as Shapeable

  if (typeof s.onData !== 'function' || s[STATE] != null) {
    return false
  }

  const state: InternalState = {
    ...init,
    onData: s.onData,
    pause: s.pause,
    resume: s.resume,
    appPaused: s.readStatus === 'paused',
    shaperPaused: false,
    pauses: 0,
    held: [],
    dispatchEvent: s.dispatchEvent
  }
  s[STATE] = state
  s.onData = shapedOnData
  s[ORIGINAL_DISPATCH] = s.dispatchEvent
  s.dispatchEvent = heldDispatchEvent
  s.pause = appPause
  s.resume = appResume

  if (s.maxReadBufferLength < MIN_READ_BUFFER) {
    s.maxReadBufferLength = MIN_READ_BUFFER
  }

  // bytes that arrived while the protocol was negotiated (a go peer sends
  // its first write with the protocol) count like any others
  if (s.readBufferLength > 0) {
    charge(state, s.readBufferLength)
  }

  // a stream the remote opens while other streams left its buckets in debt
  // starts paused: a peer cannot open fresh streams to get past the budget.
  // One the node opens reads its first response first, as before: libp2p's
  // own requests (identify, 5 s) answer within their timeouts however deep
  // the debt
  if (stream.direction === 'inbound') {
    holdIfSpent(s, state)
  }

  return true
}

/** Times the shaper paused this stream */
export function downloadPauses (stream: Stream): number {
  return (stream as unknown as Shapeable)[STATE]?.pauses ?? 0
}

/** Stops pacing the stream (it closed, or the service stopped); reading resumes unless the application paused it */
export function unshapeDownload (stream: Stream): void {
  const s = stream as unknown as Shapeable
  const state = s[STATE]

  if (state == null) {
    return
  }

  clearTimeout(state.timer)
  s[STATE] = undefined

  if (s.onData === shapedOnData) {
    s.onData = state.onData
  }

  if (s.pause === appPause) {
    s.pause = state.pause
  }

  if (s.resume === appResume) {
    s.resume = state.resume
  }

  if (s.dispatchEvent === heldDispatchEvent) {
    s.dispatchEvent = state.dispatchEvent
  }

  if (state.shaperPaused) {
    state.shaperPaused = false
    release(s, state)
  }
}
