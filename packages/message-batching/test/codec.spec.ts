import { expect } from 'aegir/chai'
import { deflateSync } from 'fflate'
import { FLAG_COMPRESSED, FrameDecoder, KIND_MESSAGE, KIND_NAME, KIND_REQUEST, KIND_RESPONSE, decodeRecords, encodeFrame, encodeRecords, utf8ByteLength } from '../src/codec.ts'
import { deflateRaw, inflateRaw } from '../src/compression.ts'
import { readVarint, writeVarint } from '../src/varint.ts'
import type { WireRecord } from '../src/codec.ts'

const limits = { maxRecordsPerFrame: 16, maxMessageBytes: 1024 }
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('codec', () => {
  it('round-trips every kind of record', () => {
    const records: WireRecord[] = [
      { kind: KIND_NAME, n: 0, priority: 0, payload: new TextEncoder().encode('chat') },
      { kind: KIND_MESSAGE, n: 0, priority: 2, payload: bytes(1, 2, 3) },
      { kind: KIND_REQUEST, n: 300, priority: 1, id: 2 ** 32 - 1, payload: new Uint8Array(200) },
      { kind: KIND_RESPONSE, n: 2, priority: 0, id: 7, payload: new Uint8Array(0) }
    ]
    const decoded = decodeRecords(encodeRecords(records), limits)
    expect(decoded.map(r => ({ ...r, payload: [...r.payload] }))).to.deep.equal(records.map(r => ({ ...r, id: r.id, payload: [...r.payload] })))
  })

  it('counts the UTF-8 bytes of a name as TextEncoder writes them', () => {
    const texts = ['', 'chat', 'é', '\u07ff', '\u0800', '€uro', '\uffff', '😀', 'a😀b', '\ud800', '\udc00', '\ud800a', 'a\udfff', '\udc00\ud800', '\ud83d\ud83d\ude00', 'x'.repeat(200)]
    for (const text of texts) {
      expect(utf8ByteLength(text), JSON.stringify(text)).to.equal(new TextEncoder().encode(text).byteLength)
    }
  })

  it('costs 2 bytes per 100 B message with a small name id', () => {
    const body = encodeRecords([{ kind: KIND_MESSAGE, n: 3, priority: 1, payload: new Uint8Array(100) }])
    expect(body.byteLength).to.equal(102)
  })

  it('rejects varints that are too long, too large or not minimal', () => {
    expect(() => readVarint(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0)).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => readVarint(bytes(0xff, 0xff, 0xff, 0xff, 0x1f), 0)).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => readVarint(bytes(0x81, 0x00), 0)).to.throw().with.property('name', 'MalformedFrameError')
    expect(readVarint(bytes(0x81), 0)).to.be.undefined()
    const buf = new Uint8Array(5)
    expect(readVarint(buf, 0, writeVarint(buf, 0, 2 ** 32 - 1))).to.deep.equal([2 ** 32 - 1, 5])
  })

  it('names the bound a body breaks', () => {
    const many = encodeRecords(Array.from({ length: 17 }, () => ({ kind: KIND_MESSAGE, n: 0, priority: 0, payload: bytes(1) })))
    expect(() => decodeRecords(many, limits)).to.throw().with.property('name', 'TooManyRecordsError')
    const big = encodeRecords([{ kind: KIND_MESSAGE, n: 0, priority: 0, payload: new Uint8Array(1025) }])
    expect(() => decodeRecords(big, limits)).to.throw().with.property('name', 'MessageTooLargeError')
    expect(() => decodeRecords(bytes(0x03, 0x00), limits)).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => decodeRecords(bytes(0x00, 0x05, 1, 2), limits)).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => decodeRecords(bytes(0x04), limits)).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => decodeRecords(new Uint8Array(0), limits)).to.throw().with.property('name', 'MalformedFrameError')
  })

  it('splits a byte stream into frames, however it is chunked', () => {
    const a = encodeFrame(bytes(1, 2, 3), 0)
    const b = encodeFrame(new Uint8Array(300), FLAG_COMPRESSED)
    const stream = new Uint8Array([...a, ...b])
    const decoder = new FrameDecoder(1024)
    const frames = []
    for (const byte of stream) {
      frames.push(...decoder.push(bytes(byte)))
    }
    expect(frames.map(f => [f.flags, f.body.byteLength])).to.deep.equal([[0, 3], [1, 300]])
    expect(decoder.buffered).to.equal(0)
  })

  it('rejects a frame over the bound as soon as its length is read, and unknown flags', () => {
    expect(() => new FrameDecoder(1024).push(bytes(0x82, 0x08))).to.throw().with.property('name', 'FrameTooLargeError')
    expect(() => new FrameDecoder(1024).push(bytes(0x02, 0x02, 0x00))).to.throw().with.property('name', 'MalformedFrameError')
    expect(() => new FrameDecoder(1024).push(bytes(0x00))).to.throw().with.property('name', 'MalformedFrameError')
  })
})

describe('compression', () => {
  it('round-trips raw deflate that other implementations read', () => {
    const data = new TextEncoder().encode(JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ id: i, type: 'update', value: i * 3 }))))
    const compressed = deflateRaw(data, 6)
    expect(compressed.byteLength).to.be.lessThan(data.byteLength / 3)
    expect(inflateRaw(compressed, data.byteLength)).to.deep.equal(data)
    expect(inflateRaw(deflateSync(data, { level: 1 }), data.byteLength)).to.deep.equal(data)
  })

  it('stops a decompression bomb at the cap without inflating it all', () => {
    const bomb = deflateRaw(new Uint8Array(8 * 1024 * 1024), 9)
    expect(bomb.byteLength).to.be.lessThan(16 * 1024)
    expect(() => inflateRaw(bomb, 1024 * 1024)).to.throw().with.property('name', 'DecompressionLimitError')
  })

  it('names bad and truncated deflate data malformed', () => {
    expect(() => inflateRaw(bytes(0xff, 0xff, 0xff), 1024)).to.throw().with.property('name', 'MalformedFrameError')
    const good = deflateRaw(new Uint8Array(5000).fill(7), 6)
    expect(() => inflateRaw(good.subarray(0, good.byteLength - 2), 10_000)).to.throw().with.property('name', 'MalformedFrameError')
  })
})
