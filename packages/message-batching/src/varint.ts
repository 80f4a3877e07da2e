/**
 * The strict unsigned varint of PROTOCOL.md: LEB128, value < 2^32, at most
 * 5 bytes, minimal.
 */
import { MAX_VARINT_BYTES } from './constants.ts'
import { MalformedFrameError } from './errors.ts'

export function varintLength (value: number): number {
  if (value < 0x80) { return 1 }
  if (value < 0x4000) { return 2 }
  if (value < 0x200000) { return 3 }
  if (value < 0x10000000) { return 4 }
  return 5
}

/** Writes `value` (0..2^32-1) at `offset`, returns the offset after it */
export function writeVarint (buf: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80
    value = Math.floor(value / 128)
  }
  buf[offset++] = value
  return offset
}

/**
 * Reads a varint at `offset` of `buf` (up to `end`); returns
 * `undefined` when more bytes are needed, throws `MalformedFrameError`
 * when it breaks the rules
 */
export function readVarint (buf: Uint8Array, offset: number, end: number = buf.byteLength): [value: number, next: number] | undefined {
  let value = 0
  let scale = 1

  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= end) {
      return undefined
    }

    const byte = buf[offset + i]
    value += (byte & 0x7f) * scale

    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) {
        throw new MalformedFrameError('varint is not minimal')
      }
      if (value > 0xffffffff) {
        throw new MalformedFrameError('varint above 2^32 - 1')
      }
      return [value, offset + i + 1]
    }

    scale *= 128
  }

  throw new MalformedFrameError(`varint longer than ${MAX_VARINT_BYTES} bytes`)
}
