/**
 * Records and frames of PROTOCOL.md: encoding, and decoding with every
 * bound checked. Payloads decoded here are views into the frame's body.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameTooLargeError, MalformedFrameError, MessageTooLargeError, TooManyRecordsError } from './errors.ts'
import { readVarint, varintLength, writeVarint } from './varint.ts'

export const KIND_MESSAGE = 0
export const KIND_REQUEST = 1
export const KIND_RESPONSE = 2
export const KIND_NAME = 3

export const STATUS_OK = 0
export const STATUS_NO_HANDLER = 1
export const STATUS_HANDLER_ERROR = 2

export const FLAG_COMPRESSED = 1
/** An acknowledgement frame of the acceptor on a flow-controlled stream (PROTOCOL.md, Flow control) */
export const FLAG_ACK = 2

export type Priority = 'high' | 'normal' | 'low'

/** Priority names by their code on the wire (0 high, 1 normal, 2 low) */
export const PRIORITY_NAMES: readonly Priority[] = ['high', 'normal', 'low']
export const PRIORITY_CODES: Readonly<Record<Priority, number>> = { high: 0, normal: 1, low: 2 }

export interface WireRecord {
  kind: number
  /** Name id (MESSAGE, REQUEST, NAME) or status (RESPONSE) */
  n: number
  priority: number
  /** Request id (REQUEST, RESPONSE) */
  id?: number
  payload: Uint8Array
}

export interface RecordLimits {
  maxRecordsPerFrame: number
  maxMessageBytes: number
}

export interface Frame {
  flags: number
  body: Uint8Array
}

function hasId (kind: number): boolean {
  return kind === KIND_REQUEST || kind === KIND_RESPONSE
}

export function recordLength (record: WireRecord): number {
  const head = record.n * 16 + record.kind * 4 + record.priority
  return varintLength(head) +
    (hasId(record.kind) ? varintLength(record.id ?? 0) : 0) +
    varintLength(record.payload.byteLength) +
    record.payload.byteLength
}

export function encodeRecord (buf: Uint8Array, offset: number, record: WireRecord): number {
  offset = writeVarint(buf, offset, record.n * 16 + record.kind * 4 + record.priority)

  if (hasId(record.kind)) {
    offset = writeVarint(buf, offset, record.id ?? 0)
  }

  offset = writeVarint(buf, offset, record.payload.byteLength)
  buf.set(record.payload, offset)
  return offset + record.payload.byteLength
}

/** The records, back to back, in one new buffer */
export function encodeRecords (records: readonly WireRecord[]): Uint8Array {
  let length = 0

  for (const record of records) {
    length += recordLength(record)
  }

  const buf = new Uint8Array(length)
  let offset = 0

  for (const record of records) {
    offset = encodeRecord(buf, offset, record)
  }

  return buf
}

/** `length flags body` */
export function encodeFrame (body: Uint8Array, flags: number): Uint8Array {
  const length = body.byteLength + 1
  const frame = new Uint8Array(varintLength(length) + length)
  let offset = writeVarint(frame, 0, length)
  frame[offset++] = flags
  frame.set(body, offset)
  return frame
}

function need (value: [number, number] | undefined, what: string): [number, number] {
  if (value == null) {
    throw new MalformedFrameError(`${what} runs past the end of the body`)
  }
  return value
}

/** Every record of an (inflated) body; throws the named error of the first bound broken */
export function decodeRecords (body: Uint8Array, limits: RecordLimits): WireRecord[] {
  if (body.byteLength === 0) {
    throw new MalformedFrameError('empty body')
  }

  const records: WireRecord[] = []
  let offset = 0

  while (offset < body.byteLength) {
    if (records.length === limits.maxRecordsPerFrame) {
      throw new TooManyRecordsError(`more than ${limits.maxRecordsPerFrame} records in a frame`)
    }

    let head: number
    [head, offset] = need(readVarint(body, offset), 'record head')
    const priority = head & 3
    const kind = (head >>> 2) & 3
    const n = Math.floor(head / 16)

    if (priority === 3) {
      throw new MalformedFrameError('priority 3 is invalid')
    }

    let id: number | undefined

    if (hasId(kind)) {
      [id, offset] = need(readVarint(body, offset), 'request id')
    }

    let length: number
    [length, offset] = need(readVarint(body, offset), 'record length')

    if (length > limits.maxMessageBytes) {
      throw new MessageTooLargeError(`a record of ${length} bytes, more than ${limits.maxMessageBytes}`)
    }

    if (offset + length > body.byteLength) {
      throw new MalformedFrameError('record payload runs past the end of the body')
    }

    records.push({ kind, n, priority, id, payload: body.subarray(offset, offset + length) })
    offset += length
  }

  return records
}

/** The `ACK` frame acknowledging `frames` frames */
export function encodeAckFrame (frames: number): Uint8Array {
  const body = new Uint8Array(varintLength(frames))
  writeVarint(body, 0, frames)
  return encodeFrame(body, FLAG_ACK)
}

/** The count of an `ACK` frame's body: one varint >= 1, nothing after it */
export function decodeAck (body: Uint8Array): number {
  const read = readVarint(body, 0)

  if (read == null || read[1] !== body.byteLength || read[0] === 0) {
    throw new MalformedFrameError('an ACK frame must hold one varint >= 1 and nothing else')
  }

  return read[0]
}

/**
 * Splits a byte stream into frames; keeps at most one partial frame
 * (at most `maxFrameBytes` + 5 bytes). `flags` are the flag bits this side
 * accepts (`COMPRESSED` from an opener; `COMPRESSED` or `ACK` from a
 * flow-controlled acceptor)
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameBytes: number
  private readonly flags: number

  constructor (maxFrameBytes: number, flags: number = FLAG_COMPRESSED) {
    this.maxFrameBytes = maxFrameBytes
    this.flags = flags
  }

  /** The complete frames the chunk finishes */
  push (chunk: Uint8Array | Uint8ArrayList): Frame[] {
    this.buffer.append(chunk)
    const frames: Frame[] = []

    while (this.buffer.byteLength > 0) {
      const prefix = this.buffer.subarray(0, Math.min(5, this.buffer.byteLength))
      const read = readVarint(prefix, 0)

      if (read == null) {
        break
      }

      const [length, start] = read

      if (length > this.maxFrameBytes) {
        throw new FrameTooLargeError(`a frame of ${length} bytes, more than ${this.maxFrameBytes}`)
      }

      if (length === 0) {
        throw new MalformedFrameError('a frame without flags')
      }

      if (this.buffer.byteLength < start + length) {
        break
      }

      const frame = this.buffer.subarray(start, start + length)
      this.buffer.consume(start + length)
      const flags = frame[0]

      if ((flags & ~this.flags) !== 0 || flags === (FLAG_COMPRESSED | FLAG_ACK)) {
        throw new MalformedFrameError(`unknown flags 0x${flags.toString(16)}`)
      }

      frames.push({ flags, body: frame.subarray(1) })
    }

    return frames
  }

  get buffered (): number {
    return this.buffer.byteLength
  }
}

/**
 * The bytes of `text` in UTF-8, as `TextEncoder` would write them (a lone
 * surrogate becomes U+FFFD, 3 bytes), without encoding it: `send()` checks
 * the length of every message's name
 */
export function utf8ByteLength (text: string): number {
  let bytes = 0

  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)

    if (code < 0x80) {
      bytes += 1
    } else if (code < 0x800) {
      bytes += 2
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // a surrogate pair: one code point of 4 bytes
      bytes += 4
      i++
    } else {
      bytes += 3
    }
  }

  return bytes
}

/**
 * A payload handed to user code: a copy when it is a view into a buffer
 * more than twice its size (the frame, the chunk read, an inflated body), so
 * a handler that keeps it, or an async one still running, does not keep
 * that whole buffer alive
 */
export function ownPayload (payload: Uint8Array): Uint8Array {
  return payload.byteLength * 2 < payload.buffer.byteLength ? payload.slice() : payload
}
