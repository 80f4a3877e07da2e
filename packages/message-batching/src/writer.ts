/**
 * When to write a frame, and writing it: the adaptive flush. With nothing
 * in flight, items go out at once (items queued in the same tick share the
 * frame); while a frame is in flight (written this event-loop turn, or the
 * stream pushed back until 'drain') items gather, and the gathered ones go
 * out when it completes, or earlier when `maxBatchSize` items or
 * `maxBatchBytes` bytes wait, a `high` item arrives, or the oldest waited
 * `batchTimeout`. With `adaptive: false` only the last four flush.
 *
 * At most MAX_FRAMES_PER_TURN frames are written in one event-loop turn,
 * even when the stream takes them all: a caller that keeps sending without
 * ever yielding to the event loop then fills the queue and waits, instead
 * of piling up bytes the socket cannot write until the loop turns.
 */
import { FLAG_COMPRESSED, encodeFrame, encodeRecords } from './codec.ts'
import { deflateRaw } from './compression.ts'
import { COMPRESSION_MAX_SKIP, COMPRESSION_MIN_SAVING, MAX_FRAMES_PER_TURN } from './constants.ts'
import type { WireRecord } from './codec.ts'
import type { CompressionLevel } from './compression.ts'
import type { PriorityQueues, QueueItem } from './queue.ts'
import type { Stream } from '@libp2p/interface'

export type FlushCause = 'idle' | 'drain' | 'size' | 'bytes' | 'priority' | 'timeout'

export const FLUSH_CAUSES: readonly FlushCause[] = ['idle', 'drain', 'size', 'bytes', 'priority', 'timeout']

export interface FlushSettings {
  maxBatchSize: number
  maxBatchBytes: number
  batchTimeout: number
  adaptive: boolean
  compressionThreshold: number
  compressionLevel: CompressionLevel
  /** How long a write may wait for 'drain' before `stalled` is called, ms (no hook: forever) */
  writeTimeout?: number
}

export interface WrittenFrame {
  cause: FlushCause
  /** Bytes of the records before compression */
  bodyBytes: number
  /** Bytes of the frame as written */
  wireBytes: number
  compressed: boolean
  /** Whether deflate was tried (false below the threshold or while backing off) */
  compressionTried: boolean
}

export interface WriterHooks<T extends QueueItem> {
  /** The stream to write to, undefined while there is none */
  stream(): Stream | undefined
  /** Items wait and there is no stream */
  needStream(): void
  /** The records of the items to write; items it cannot write it settles itself and leaves out of `items` */
  encode(items: T[]): { records: WireRecord[], items: T[] }
  /** The frame carrying the items was handed to the stream */
  written(items: T[], frame: WrittenFrame): void
  /** The stream refused the frame: its items are back in the queue */
  failed(err: Error): void
  /** False while the flow-control window is full (no hook: always open); `highOnly`: for a frame of `high` items alone */
  windowOpen?(highOnly: boolean): boolean
  /** A frame of `bytes` was handed to the stream; `high`: it carries a `high` item; `highOnly`: `high` items alone */
  sent?(bytes: number, high: boolean, highOnly: boolean): void
  /** The stream pushed back and 'drain' did not come within `writeTimeout` */
  stalled?(): void
}

/** busy: a frame was written this turn; blocked: waiting for the stream's 'drain' or for room in the window */
type State = 'idle' | 'busy' | 'blocked'

const nextTurn: (fn: () => void) => void = typeof globalThis.setImmediate === 'function'
  ? (fn) => { globalThis.setImmediate(fn) }
  : (fn) => { globalThis.setTimeout(fn, 0) }

export class FrameWriter<T extends QueueItem> {
  private readonly queues: PriorityQueues<T>
  private readonly settings: FlushSettings
  private readonly hooks: WriterHooks<T>
  private state: State = 'idle'
  private microtask = false
  private timer?: ReturnType<typeof setTimeout>
  /** Runs while waiting for the stream's 'drain' */
  private drainTimer?: ReturnType<typeof setTimeout>
  /** Bumped when the stream changes, so a stale 'drain' or turn end does nothing */
  private generation = 0
  private closed = false
  /** Frames still to send without trying deflate, and the next back-off */
  /** Frames written this event-loop turn; at MAX_FRAMES_PER_TURN the writer waits for the next turn */
  private turnFrames = 0
  /** Blocked on the flow-control window rather than on the stream */
  private waitingForWindow = false
  private compressionSkip = 0
  private compressionBackoff = 0

  constructor (queues: PriorityQueues<T>, settings: FlushSettings, hooks: WriterHooks<T>) {
    this.queues = queues
    this.settings = settings
    this.hooks = hooks
  }

  /** An item was queued (or is waiting for room) */
  queued (priority: number): void {
    if (this.closed) {
      return
    }

    if (this.settings.adaptive && this.state === 'idle') {
      this.scheduleIdleFlush()
      return
    }

    if (this.state === 'blocked') {
      // a high item does not wait for room in the window (it may use the headroom above it)
      if (this.waitingForWindow && priority === 0) {
        this.state = 'idle'
        this.waitingForWindow = false
        this.flush('priority')
      }
      return
    }

    const cause = this.readyCause(priority)

    if (cause != null) {
      this.flush(cause)
    } else {
      this.armTimer()
    }
  }

  /** A new stream is ready (or the old one was dropped): write what waits */
  reset (): void {
    this.generation++
    this.clearDrainTimer()
    this.state = 'idle'
    this.waitingForWindow = false
    this.turnFrames = 0

    if (this.queues.length > 0) {
      this.flush('idle')
    }
  }

  close (): void {
    this.closed = true
    this.generation++
    this.clearTimer()
    this.clearDrainTimer()
  }

  private clearDrainTimer (): void {
    clearTimeout(this.drainTimer)
    this.drainTimer = undefined
  }

  get inFlight (): boolean {
    return this.state !== 'idle'
  }

  /** Room opened in the flow-control window */
  windowOpened (): void {
    if (this.closed || !this.waitingForWindow) {
      return
    }

    this.waitingForWindow = false
    this.completed(this.generation)
  }

  private readyCause (priority: number): FlushCause | undefined {
    if (this.queues.queuedLength() >= this.settings.maxBatchSize) {
      return 'size'
    }
    if (this.queues.bytes >= this.settings.maxBatchBytes) {
      return 'bytes'
    }
    if (priority === 0) {
      return 'priority'
    }
    return undefined
  }

  private scheduleIdleFlush (): void {
    if (this.microtask) {
      return
    }

    this.microtask = true
    void Promise.resolve().then(() => {
      this.microtask = false

      if (this.state === 'idle' && !this.closed) {
        this.flush('idle')
      }
    })
  }

  private armTimer (): void {
    if (this.timer != null) {
      return
    }

    this.timer = setTimeout(() => {
      this.timer = undefined

      if (this.state !== 'blocked' && !this.closed) {
        this.flush('timeout')
      }
    }, this.settings.batchTimeout)
  }

  private clearTimer (): void {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  /** Writes frames while items wait and the stream takes them */
  flush (cause: FlushCause): void {
    if (this.closed || this.state === 'blocked' || this.queues.length === 0 || this.turnFrames >= MAX_FRAMES_PER_TURN) {
      return
    }

    const stream = this.hooks.stream()

    if (stream == null) {
      this.hooks.needStream()
      return
    }

    this.clearTimer()

    do {
      let maxPriority = 2

      if (this.hooks.windowOpen?.(false) === false) {
        if (this.queues.lengthOf(0) > 0 && this.hooks.windowOpen(true)) {
          // a frame of high items alone, in the headroom
          maxPriority = 0
        } else {
          // the window is full: items stay queued, in priority order, until an acknowledgement
          this.state = 'blocked'
          this.waitingForWindow = true
          return
        }
      }

      const taken = this.queues.take(this.settings.maxBatchSize, this.settings.maxBatchBytes, maxPriority)

      if (taken.length === 0) {
        break
      }

      if (!this.writeFrame(stream, taken, cause)) {
        return
      }

      cause = this.queues.queuedLength() >= this.settings.maxBatchSize ? 'size' : 'bytes'
    } while ((this.state as State) !== 'blocked' && this.turnFrames < MAX_FRAMES_PER_TURN && (this.queues.queuedLength() >= this.settings.maxBatchSize || this.queues.bytes >= this.settings.maxBatchBytes))

    if (this.queues.length > 0 && (this.state as State) !== 'blocked') {
      this.armTimer()
    }
  }

  private writeFrame (stream: Stream, taken: T[], cause: FlushCause): boolean {
    const { records, items } = this.hooks.encode(taken)

    if (records.length === 0) {
      return true
    }

    const body = encodeRecords(records)
    let payload = body
    let flags = 0

    let tried = false

    if (body.byteLength >= this.settings.compressionThreshold) {
      if (this.compressionSkip > 0) {
        this.compressionSkip--
      } else {
        tried = true
        const deflated = deflateRaw(body, this.settings.compressionLevel)

        if (deflated.byteLength < body.byteLength) {
          payload = deflated
          flags = FLAG_COMPRESSED
        }

        // incompressible traffic: try again after 1, 2, 4 ... COMPRESSION_MAX_SKIP frames
        if (deflated.byteLength > body.byteLength * (1 - COMPRESSION_MIN_SAVING)) {
          this.compressionBackoff = Math.min(Math.max(1, this.compressionBackoff * 2), COMPRESSION_MAX_SKIP)
          this.compressionSkip = this.compressionBackoff
        } else {
          this.compressionBackoff = 0
        }
      }
    }

    const frame = encodeFrame(payload, flags)
    let accepted: boolean

    try {
      if (stream.writeStatus !== 'writable') {
        throw new Error(`stream is ${stream.writeStatus}`)
      }
      accepted = stream.send(frame)
    } catch (err: any) {
      this.queues.restore(items)
      this.hooks.failed(err)
      return false
    }

    this.turnFrames++
    this.hooks.sent?.(frame.byteLength, items.some(item => item.priority === 0), items.every(item => item.priority === 0))
    this.hooks.written(items, { cause, bodyBytes: body.byteLength, wireBytes: frame.byteLength, compressed: flags !== 0, compressionTried: tried })
    const generation = this.generation

    if (!accepted) {
      this.state = 'blocked'
      this.armDrainTimer(generation)
      stream.onDrain().then(() => { this.completed(generation) }, () => {})
    } else if (this.state === 'idle') {
      this.state = 'busy'
      nextTurn(() => { this.completed(generation) })
    }

    return true
  }

  /** A remote that reads nothing keeps 'drain' away forever: after writeTimeout the owner resets the stream */
  private armDrainTimer (generation: number): void {
    const { writeTimeout } = this.settings
    const stalled = this.hooks.stalled

    if (writeTimeout == null || stalled == null) {
      return
    }

    this.clearDrainTimer()
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined

      if (generation === this.generation && !this.closed && this.state === 'blocked' && !this.waitingForWindow) {
        stalled()
      }
    }, writeTimeout)
  }

  private completed (generation: number): void {
    if (generation !== this.generation || this.closed) {
      return
    }

    this.clearDrainTimer()

    this.state = 'idle'
    this.waitingForWindow = false
    this.turnFrames = 0

    if (this.queues.length === 0) {
      return
    }

    if (this.settings.adaptive) {
      this.flush('drain')
      return
    }

    const cause = this.readyCause(this.queues.lengthOf(0) > 0 ? 0 : 1)

    if (cause != null) {
      this.flush(cause)
    } else {
      this.armTimer()
    }
  }
}
