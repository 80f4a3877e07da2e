/**
 * One inbound stream: decodes the opener's frames, checks every rule of
 * PROTOCOL.md, hands messages and requests to the handlers in order, and
 * writes the answers back in batches on the same stream. Bad input resets
 * the stream with the named error and counts it; nothing else is touched.
 */
import { TimeoutError } from '@libp2p/interface'
import { FrameDecoder, KIND_MESSAGE, encodeAckFrame, ownPayload, KIND_NAME, KIND_REQUEST, PRIORITY_NAMES, STATUS_HANDLER_ERROR, STATUS_NO_HANDLER, STATUS_OK, decodeRecords } from './codec.ts'
import { inflateRaw } from './compression.ts'
import { MAX_ERROR_TEXT_BYTES, MAX_NAME_BYTES } from './constants.ts'
import { MalformedFrameError, ProtocolViolationError, TooManyNamesError, TooManyRequestsError, UnknownNameError, WriteTimeoutError } from './errors.ts'
import { PriorityQueues } from './queue.ts'
import { FrameWriter } from './writer.ts'
import type { Frame, WireRecord } from './codec.ts'
import type { BatchingHandler } from './index.ts'
import type { BatchingMetricsRecorder } from './metrics.ts'
import type { BatchingSettings } from './options.ts'
import type { QueueItem } from './queue.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

interface ResponseItem extends QueueItem {
  record: WireRecord
}

export interface InboundDeps {
  settings: BatchingSettings
  metrics: BatchingMetricsRecorder
  log: Logger
  handlers: ReadonlyMap<string, BatchingHandler>
  closed(session: InboundSession): void
  /** Room for `bytes` more of answers waiting, node-wide; false when this session was reset to keep the bound */
  reserveAnswer(session: InboundSession, bytes: number): boolean
  releaseAnswer(bytes: number): void
}

interface RunningHandler {
  controller: AbortController
  timer: ReturnType<typeof setTimeout>
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
/** Takes the place of a frame in the backlog once handed to the handlers */
const HANDED: Frame = { flags: 0, body: new Uint8Array(0) }

function errorText (err: any): Uint8Array {
  const text = new TextEncoder().encode(String(err?.message ?? err))
  return text.subarray(0, MAX_ERROR_TEXT_BYTES)
}

export class InboundSession {
  readonly peer: PeerId
  private readonly stream: Stream
  private readonly deps: InboundDeps
  private readonly decoder: FrameDecoder
  private readonly names = new Map<number, string>()
  /** Requests whose answer is not written yet (still running, or queued behind a stream that pushes back) */
  private readonly unanswered = new Set<number>()
  private readonly answered = new Set<number>()
  private readonly responses: PriorityQueues<ResponseItem>
  private readonly writer: FrameWriter<ResponseItem>
  private open = true
  /** The opener closed its writable end */
  private remoteDone = false
  /** Frames are acknowledged (PROTOCOL.md, Flow control) */
  private readonly acks: boolean
  /** Frames handled and not yet acknowledged, and whether an ACK waits for 'drain' (then no other is written) */
  private unacked = 0
  private ackWaiting = false
  /** Bytes of answers queued here, not yet handed to the stream (counted node-wide too) */
  pendingBytes = 0
  /** Message handlers whose promise has not settled (the stream is paused at maxRunningHandlers) */
  private runningMessages = 0
  private paused = false
  /** Frames read and not yet handed to the handlers (those of one chunk at most) */
  private backlog: Frame[] = []
  private backlogHead = 0
  /** Request handlers still running, by request id (at most maxInflightRequests) */
  private readonly running = new Map<number, RunningHandler>()

  constructor (stream: Stream, peer: PeerId, deps: InboundDeps) {
    this.stream = stream
    this.peer = peer
    this.deps = deps
    const { settings } = deps
    this.decoder = new FrameDecoder(settings.limits.maxFrameBytes)
    this.acks = settings.flowControl != null && stream.protocol === settings.flowControl.protocol
    // at most maxInflightRequests answers wait: an id leaves `unanswered` only once its answer is written
    this.responses = new PriorityQueues({ maxLength: Infinity, maxBytes: Infinity, maxWaiting: 0 })
    this.writer = new FrameWriter(this.responses, settings, {
      stream: () => this.open && stream.writeStatus === 'writable' ? stream : undefined,
      needStream: () => { this.dropAnswers() },
      encode: (items) => ({ records: items.map(item => item.record), items }),
      written: (items, frame) => {
        // an answer counts against maxInflightRequests until it is written
        for (const item of items) {
          this.unanswered.delete(item.record.id ?? 0)
          this.answered.delete(item.record.id ?? 0)
          this.pendingBytes -= item.size
          this.deps.releaseAnswer(item.size)
        }
        this.deps.metrics.frameWritten(frame, 0, 0, Date.now())
        this.maybeClose()
      },
      failed: () => { this.dropAnswers() },
      // the opener reads none of our answers: reset rather than hold them (and their requests' slots) forever
      stalled: () => { this.badInput(new WriteTimeoutError(`no 'drain' for ${settings.writeTimeout} ms: the opener reads nothing`)) }
    })

    stream.addEventListener('message', (evt) => { this.receive(evt.data) })
    stream.addEventListener('close', () => { this.shutdown() })
    // the opener writes no more: close our end too once every answer is written
    stream.addEventListener('remoteCloseWrite', () => {
      this.remoteDone = true
      this.maybeClose()
    })
  }

  private maybeClose (): void {
    if (!this.open || !this.remoteDone || this.unanswered.size > 0 || this.backlogHead < this.backlog.length) {
      return
    }

    this.stream.close().catch(err => { this.stream.abort(err) })
  }

  /** Resets the stream (service stopping) */
  abort (err: Error): void {
    this.stream.abort(err)
    this.shutdown()
  }

  private shutdown (): void {
    if (!this.open) {
      return
    }

    this.open = false
    this.backlog = []
    this.backlogHead = 0
    this.writer.close()
    this.dropAnswers()

    for (const { controller, timer } of this.running.values()) {
      clearTimeout(timer)
      controller.abort(new Error('the stream closed'))
    }

    this.running.clear()
    this.deps.closed(this)
  }

  private dropAnswers (): void {
    this.responses.clear()
    this.deps.releaseAnswer(this.pendingBytes)
    this.pendingBytes = 0
  }

  private receive (chunk: Parameters<FrameDecoder['push']>[0]): void {
    if (!this.open) {
      return
    }

    try {
      this.deps.metrics.bytesReceived += chunk.byteLength
      const frames = this.decoder.push(chunk)

      if (this.backlogHead === this.backlog.length) {
        this.backlog = frames
        this.backlogHead = 0
      } else {
        // no spread: a chunk may hold very many small frames
        for (const frame of frames) {
          this.backlog.push(frame)
        }
      }

      this.handFrames()
    } catch (err: any) {
      this.badInput(err)
    }
  }

  /**
   * Hands the frames read to the handlers while fewer than
   * maxRunningHandlers message handlers run (checked per frame); the rest
   * wait here with the stream paused until enough of them settle
   */
  private handFrames (): void {
    const { limits, maxRunningHandlers } = this.deps.settings
    let frames = 0

    while (this.backlogHead < this.backlog.length && this.runningMessages < maxRunningHandlers) {
      const frame = this.backlog[this.backlogHead]
      // a frame handed over is not kept here
      this.backlog[this.backlogHead++] = HANDED
      const body = (frame.flags & 1) === 1 ? inflateRaw(frame.body, limits.maxFrameBytes) : frame.body
      this.deps.metrics.batchesReceived++

      for (const record of decodeRecords(body, limits)) {
        this.record(record)
      }

      frames++
    }

    // the records were handed to the handlers: one ACK for these frames
    if (this.acks && frames > 0) {
      this.unacked += frames
      this.writeAck()
    }

    // too many async handlers still running: read no more until they settle
    if (this.backlogHead === this.backlog.length) {
      this.backlog = []
      this.backlogHead = 0
    }

    const full = this.backlogHead < this.backlog.length || this.runningMessages >= maxRunningHandlers

    if (full && !this.paused) {
      this.paused = true
      this.stream.pause()
    } else if (!full && this.paused) {
      this.paused = false
      this.stream.resume()
      this.maybeClose()
    }
  }

  private badInput (err: any): void {
    this.deps.metrics.protocolError(err.name ?? 'Error')
    this.deps.log('bad input from %p, resetting the stream - %e', this.peer, err)
    this.abort(err)
  }

  private record (record: WireRecord): void {
    if (record.kind === KIND_NAME) {
      this.defineName(record)
      return
    }

    if (record.kind !== KIND_MESSAGE && record.kind !== KIND_REQUEST) {
      throw new ProtocolViolationError('the opener may not write RESPONSE records')
    }

    const name = this.names.get(record.n)

    if (name == null) {
      throw new ProtocolViolationError(`name id ${record.n} was never defined`)
    }

    const handler = this.deps.handlers.get(name)
    const context = { peer: this.peer, priority: PRIORITY_NAMES[record.priority], name }

    if (record.kind === KIND_MESSAGE) {
      if (handler == null) {
        throw new UnknownNameError(`no handler for "${name}"`)
      }

      this.deps.metrics.messagesReceived++
      this.callMessageHandler(handler, ownPayload(record.payload), context)
      return
    }

    const id = record.id ?? 0

    if (this.unanswered.has(id)) {
      throw new ProtocolViolationError(`request id ${id} is already in flight`)
    }

    if (this.unanswered.size >= this.deps.settings.limits.maxInflightRequests) {
      throw new TooManyRequestsError(`more than ${this.deps.settings.limits.maxInflightRequests} unanswered requests`)
    }

    this.deps.metrics.requestsReceived++
    this.unanswered.add(id)

    if (handler == null) {
      this.answer(id, record.priority, STATUS_NO_HANDLER, new Uint8Array(0))
      return
    }

    // the closures below keep these, not the record (its payload is a view into the whole frame)
    const payload = ownPayload(record.payload)
    const priority = record.priority
    // a handler that never answers is answered for it after handlerTimeout, so its id does not hold a slot forever
    const { handlerTimeout } = this.deps.settings
    const controller = new AbortController()
    const timer = setTimeout(() => {
      this.running.delete(id)
      this.deps.metrics.handlerTimeouts++
      controller.abort(new TimeoutError(`no answer within ${handlerTimeout} ms`))
      this.answer(id, priority, STATUS_HANDLER_ERROR, errorText(`the handler of "${name}" did not answer within ${handlerTimeout} ms`))
    }, handlerTimeout)
    this.running.set(id, { controller, timer })

    Promise.resolve()
      .then(async () => handler(payload, { ...context, signal: controller.signal }))
      .then(result => {
        if (result != null && !(result instanceof Uint8Array)) {
          throw new TypeError('the handler returned something other than a Uint8Array')
        }
        if (result != null && result.byteLength > this.deps.settings.limits.maxMessageBytes) {
          throw new RangeError(`the answer of ${result.byteLength} bytes is larger than ${this.deps.settings.limits.maxMessageBytes}`)
        }
        this.answer(id, priority, STATUS_OK, result ?? new Uint8Array(0))
      })
      .catch(err => {
        this.deps.metrics.handlerErrors++
        this.answer(id, priority, STATUS_HANDLER_ERROR, errorText(err))
      })
      .finally(() => {
        if (this.running.get(id)?.controller === controller) {
          clearTimeout(timer)
          this.running.delete(id)
        }
      })
  }

  /** One ACK for every frame handled since the last; while the stream pushes back they add up in one count */
  private writeAck (): void {
    if (this.ackWaiting || this.unacked === 0 || !this.open || this.stream.writeStatus !== 'writable') {
      return
    }

    const count = Math.min(this.unacked, 0xffffffff)
    this.unacked -= count

    if (!this.stream.send(encodeAckFrame(count))) {
      this.ackWaiting = true
      this.stream.onDrain().then(() => {
        this.ackWaiting = false
        this.writeAck()
      }, () => {})
    }
  }

  private defineName (record: WireRecord): void {
    if (record.n >= this.deps.settings.limits.maxNames) {
      throw new TooManyNamesError(`name id ${record.n} is beyond ${this.deps.settings.limits.maxNames} names`)
    }

    if (this.names.has(record.n)) {
      throw new ProtocolViolationError(`name id ${record.n} defined twice`)
    }

    if (record.payload.byteLength === 0 || record.payload.byteLength > MAX_NAME_BYTES) {
      throw new MalformedFrameError(`a name of ${record.payload.byteLength} bytes`)
    }

    let name: string

    try {
      name = utf8.decode(record.payload)
    } catch {
      throw new MalformedFrameError('a name that is not UTF-8')
    }

    this.names.set(record.n, name)
  }

  private callMessageHandler (handler: BatchingHandler, data: Uint8Array, context: Parameters<BatchingHandler>[1]): void {
    try {
      const result = handler(data, context)

      if (result != null && typeof (result as Promise<unknown>).then === 'function') {
        this.runningMessages++;
        (result as Promise<unknown>).then(() => { this.handlerSettled() }, err => {
          this.handlerSettled()
          this.handlerFailed(err)
        })
      }
    } catch (err) {
      this.handlerFailed(err)
    }
  }

  private handlerSettled (): void {
    this.runningMessages--

    if (this.paused && this.open && this.runningMessages < this.deps.settings.maxRunningHandlers) {
      try {
        this.handFrames()
      } catch (err: any) {
        this.badInput(err)
      }
    }
  }

  private handlerFailed (err: any): void {
    this.deps.metrics.handlerErrors++
    this.deps.log.error('a message handler for %p failed - %e', this.peer, err)
  }

  private answer (id: number, priority: number, status: number, payload: Uint8Array): void {
    if (!this.open || !this.unanswered.has(id) || this.answered.has(id)) {
      return
    }

    if (!this.deps.reserveAnswer(this, payload.byteLength)) {
      // this stream held the most answers waiting and was reset
      return
    }

    this.answered.add(id)
    this.pendingBytes += payload.byteLength
    this.responses.push({ priority, size: payload.byteLength, record: { kind: 2, n: status, priority, id, payload } })
    this.writer.queued(priority)
  }
}
