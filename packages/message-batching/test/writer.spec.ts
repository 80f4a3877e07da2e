import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { FrameDecoder, KIND_MESSAGE, decodeRecords } from '../src/codec.ts'
import { inflateRaw } from '../src/compression.ts'
import { PriorityQueues } from '../src/queue.ts'
import { FrameWriter } from '../src/writer.ts'
import type { WireRecord } from '../src/codec.ts'
import type { QueueItem } from '../src/queue.ts'
import type { FlushCause, FlushSettings } from '../src/writer.ts'

interface Item extends QueueItem { n: number, payload: Uint8Array }

/** A stream stub: records frames; `accept` says whether send() takes more */
function stubStream (): any {
  const drains: Array<() => void> = []
  return {
    writeStatus: 'writable',
    accept: true,
    frames: [] as Uint8Array[],
    send (frame: Uint8Array) { this.frames.push(frame); return this.accept },
    async onDrain () { return new Promise<void>(resolve => drains.push(resolve)) },
    drain () { this.accept = true; drains.splice(0).forEach(d => { d() }) }
  }
}

function setup (settings: Partial<FlushSettings> = {}): { queues: PriorityQueues<Item>, writer: FrameWriter<Item>, stream: any, causes: FlushCause[], tried: boolean[], push(n: number, priority?: number, size?: number): void, batches(): number[][] } {
  const queues = new PriorityQueues<Item>({ maxLength: 1e6, maxBytes: 1e9, maxWaiting: 0 })
  const stream = stubStream()
  const causes: FlushCause[] = []
  const tried: boolean[] = []
  const writer = new FrameWriter<Item>(queues, { maxBatchSize: 100, maxBatchBytes: 65536, batchTimeout: 10, adaptive: true, compressionThreshold: 1024, compressionLevel: 6, ...settings }, {
    stream: () => stream,
    needStream: () => {},
    encode: (items) => ({ records: items.map((i): WireRecord => ({ kind: KIND_MESSAGE, n: i.n % 8, priority: i.priority, payload: i.payload })), items }),
    written: (_items, frame) => { causes.push(frame.cause); tried.push(frame.compressionTried) },
    failed: () => {}
  })
  return {
    queues,
    writer,
    stream,
    causes,
    tried,
    push (n, priority = 1, size = 100) {
      const payload = new Uint8Array(size)
      payload[0] = n
      queues.push({ n, priority, size, payload })
      writer.queued(priority)
    },
    batches () {
      const decoder = new FrameDecoder(1 << 20)
      return stream.frames.map((f: Uint8Array) => {
        const [frame] = decoder.push(f)
        const body = frame.flags === 1 ? inflateRaw(frame.body, 1 << 20) : frame.body
        return decodeRecords(body, { maxRecordsPerFrame: 4096, maxMessageBytes: 1 << 20 }).map(r => r.payload[0])
      })
    }
  }
}

describe('adaptive flush', () => {
  let clock: sinon.SinonFakeTimers

  // browsers have no setImmediate: the writer then turns with setTimeout(0)
  beforeEach(() => { clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', ...(typeof globalThis.setImmediate === 'function' ? ['setImmediate' as const] : [])] }) })
  afterEach(() => { clock.restore() })

  it('writes at once when nothing is in flight; messages of the same tick share the frame', async () => {
    const t = setup()
    t.push(1)
    t.push(2)
    await Promise.resolve()
    expect(t.batches()).to.deep.equal([[1, 2]])
    expect(t.causes).to.deep.equal(['idle'])
  })

  it('gathers while a frame is in flight and writes the gathered ones when it completes', async () => {
    const t = setup()
    t.push(1)
    await Promise.resolve()
    t.push(2)
    t.push(3)
    await Promise.resolve()
    expect(t.batches()).to.deep.equal([[1]])
    await clock.tickAsync(0)
    expect(t.batches()).to.deep.equal([[1], [2, 3]])
    expect(t.causes).to.deep.equal(['idle', 'drain'])
  })

  it('waits for drain when the stream pushes back, and flushes on size meanwhile only when it takes more', async () => {
    const t = setup({ maxBatchSize: 3 })
    t.stream.accept = false
    t.push(1)
    await Promise.resolve()
    for (let n = 2; n < 9; n++) { t.push(n) }
    await clock.tickAsync(50)
    expect(t.batches()).to.deep.equal([[1]])
    t.stream.drain()
    await clock.tickAsync(0)
    expect(t.batches()).to.deep.equal([[1], [2, 3, 4], [5, 6, 7], [8]])
    expect(t.causes).to.deep.equal(['idle', 'drain', 'size', 'drain'])
  })

  it('splits a burst into frames of maxBatchSize; the rest goes when the in-flight frame completes', async () => {
    const t = setup()
    for (let n = 0; n < 250; n++) { t.push(n % 256) }
    await Promise.resolve()
    expect(t.batches().map(b => b.length)).to.deep.equal([100, 100])
    await clock.tickAsync(0)
    expect(t.batches().map(b => b.length)).to.deep.equal([100, 100, 50])
  })

  it('writes a high message ahead of queued ones at once while a frame is in flight', async () => {
    const t = setup()
    t.push(1)
    await Promise.resolve()
    t.push(2, 2)
    t.push(3, 0)
    expect(t.batches()).to.deep.equal([[1], [3, 2]])
    expect(t.causes).to.deep.equal(['idle', 'priority'])
  })

  it('without adaptive, flushes on batchTimeout, size and bytes only', async () => {
    const t = setup({ adaptive: false, maxBatchBytes: 1000 })
    t.push(1)
    await clock.tickAsync(9)
    expect(t.batches()).to.deep.equal([])
    await clock.tickAsync(1)
    expect(t.batches()).to.deep.equal([[1]])
    for (let n = 0; n < 10; n++) { t.push(n) }
    await clock.tickAsync(0)
    expect(t.causes).to.deep.equal(['timeout', 'bytes'])
  })

  it('compresses a frame only when it shrinks', async () => {
    const t = setup()
    t.push(1, 1, 4000)
    await Promise.resolve()
    const random = new Uint8Array(2000).map(() => Math.floor(Math.random() * 256))
    t.queues.push({ n: 2, priority: 1, size: 2000, payload: random })
    await clock.tickAsync(0)
    t.writer.queued(1)
    await clock.tickAsync(0)
    expect(t.stream.frames.map((f: Uint8Array) => f[f[0] >= 0x80 ? 2 : 1])).to.deep.equal([1, 0])
    expect(t.stream.frames[0].byteLength).to.be.lessThan(100)
  })

  it('backs off deflate on incompressible frames (1, 2, 4 ... frames) and tries every compressible one', async () => {
    const t = setup({ maxBatchSize: 1 })
    const random = (): Uint8Array => new Uint8Array(2000).map(() => Math.floor(Math.random() * 256))
    for (let n = 0; n < 11; n++) {
      t.queues.push({ n, priority: 1, size: 2000, payload: random() })
    }
    t.writer.queued(1)
    await clock.tickAsync(0)
    expect(t.tried).to.deep.equal([true, false, true, false, false, true, false, false, false, false, true])

    const c = setup({ maxBatchSize: 1 })
    for (let n = 0; n < 5; n++) {
      c.queues.push({ n, priority: 1, size: 2000, payload: new Uint8Array(2000).fill(n) })
    }
    c.writer.queued(1)
    await clock.tickAsync(0)
    expect(c.tried).to.deep.equal([true, true, true, true, true])
  })

  it('writes at most 16 frames in one event-loop turn, even when the stream takes them all', async () => {
    const t = setup({ maxBatchSize: 10 })
    for (let n = 0; n < 1000; n++) { t.push(n % 256, 1, 10) }
    await Promise.resolve()
    expect(t.stream.frames).to.have.lengthOf(16)
    expect(t.queues.length).to.equal(1000 - 160)
    await clock.tickAsync(0)
    expect(t.stream.frames).to.have.lengthOf(32)
  })
})
