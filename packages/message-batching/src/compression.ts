/**
 * Raw DEFLATE (RFC 1951) through fflate: synchronous, the same code in Node
 * and browsers, with a level and a streaming inflater that lets the
 * inflated size be capped while inflating (a decompression bomb never
 * allocates more than the cap plus one step's output).
 */
import { Inflate, deflateSync } from 'fflate'
import { INFLATE_STEP_BYTES } from './constants.ts'
import { DecompressionLimitError, MalformedFrameError } from './errors.ts'

export type CompressionLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9

export function deflateRaw (data: Uint8Array, level: CompressionLevel): Uint8Array {
  return deflateSync(data, { level })
}

/** Inflates `data`, throwing `DecompressionLimitError` as soon as the output passes `cap` bytes */
export function inflateRaw (data: Uint8Array, cap: number): Uint8Array {
  const chunks: Uint8Array[] = []
  let total = 0
  let ended = false

  const inflater = new Inflate((chunk, final) => {
    total += chunk.byteLength

    if (total > cap) {
      throw new DecompressionLimitError(`a frame inflates past ${cap} bytes`)
    }

    if (chunk.byteLength > 0) {
      chunks.push(chunk)
    }

    ended = ended || final
  })

  try {
    for (let offset = 0; offset < data.byteLength; offset += INFLATE_STEP_BYTES) {
      const end = Math.min(offset + INFLATE_STEP_BYTES, data.byteLength)
      inflater.push(data.subarray(offset, end), end === data.byteLength)
    }

    if (data.byteLength === 0) {
      inflater.push(data, true)
    }
  } catch (err: any) {
    if (err instanceof DecompressionLimitError) {
      throw err
    }
    throw new MalformedFrameError(`bad DEFLATE data: ${err?.message ?? err}`)
  }

  if (!ended) {
    throw new MalformedFrameError('DEFLATE data ends early')
  }

  if (chunks.length === 1) {
    return chunks[0]
  }

  const out = new Uint8Array(total)
  let offset = 0

  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }

  return out
}
