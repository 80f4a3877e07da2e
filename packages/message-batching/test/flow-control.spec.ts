import { defaultLogger } from '@libp2p/logger'
import { streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { PeerChannel } from '../src/channel.ts'
import { FrameDecoder, KIND_MESSAGE, KIND_NAME, decodeRecords, encodeFrame, encodeRecords } from '../src/codec.ts'
import { BatchingMetricsRecorder } from '../src/metrics.ts'
import { resolveSettings } from '../src/options.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { stubNode } from './fixtures/stubs.ts'
import type { OutgoingItem } from '../src/channel.ts'
import type { MessageBatchingInit } from '../src/index.ts'
import type { PeerId, Stream } from '@libp2p/interface'

const ACK_PROTOCOL = '/x/batch/1.1.0'

/** The acceptor's end, played by the test: records what the opener writes, takes every byte at once */
class FakeStream extends EventTarget {
  protocol: string
  status = 'open'
  writeStatus = 'writable'
  readonly written: Uint8Array[] = []
  private readonly decoder = new FrameDecoder(1 << 20)
  readonly frames: Array<Array<{ priority: number, byte: number }>> = []

  constructor (protocol: string) {
    super()
    this.protocol = protocol
  }

  get bytes (): number {
    return this.written.reduce((sum, chunk) => sum + chunk.byteLength, 0)
  }

  send (data: Uint8Array): boolean {
    this.written.push(data)
    for (const frame of this.decoder.push(data)) {
      this.frames.push(decodeRecords(frame.body, { maxRecordsPerFrame: 4096, maxMessageBytes: 1 << 20 })
        .filter(r => r.kind === KIND_MESSAGE)
        .map(r => ({ priority: r.priority, byte: r.payload[0] })))
    }
    return true
  }

  async onDrain (): Promise<void> {}

  /** The acceptor acknowledges `n` frames (PROTOCOL.md, flow control) */
  ack (n: number): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: encodeFrame(new Uint8Array([n]), 2) }))
  }

  abort (): void { this.status = 'aborted' }
  async close (): Promise<void> { this.status = 'closed' }
}

function channel (stream: FakeStream, init: MessageBatchingInit = {}): PeerChannel {
  return new PeerChannel({ toString: () => 'peer' } as unknown as PeerId, {
    settings: resolveSettings({ compression: false, ...init }),
    metrics: new BatchingMetricsRecorder(),
    log: defaultLogger().forComponent('test'),
    open: async () => stream as unknown as Stream,
    idle: () => {},
    shutdown: new AbortController().signal
  })
}

function item (priority: number, byte: number, written: () => void = () => {}): OutgoingItem {
  const payload = new Uint8Array(100)
  payload[0] = byte
  return { kind: KIND_MESSAGE, name: 'n', payload, priority, size: 100, written, fail: () => {} }
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('flow control (acknowledged streams)', () => {
  it('keeps at most the window of bytes unacknowledged, and writes more once an ack frees room', async () => {
    const stream = new FakeStream(ACK_PROTOCOL)
    const c = channel(stream, { flowControl: { maxUnackedBytes: 32 * 1024 } } as any)

    // a flood of low messages: about 200 KiB
    for (let i = 0; i < 2000; i++) {
      c.enqueue(item(2, 0))
    }

    await turns(50)
    const flooded = stream.bytes
    // the window (at most 32 KiB here) and the one frame that may cross it
    expect(flooded).to.be.greaterThan(0)
    expect(flooded).to.be.at.most(32 * 1024 + 11 * 1024)
    const framesBefore = stream.frames.length
    await turns(5)
    expect(stream.frames).to.have.lengthOf(framesBefore)

    stream.ack(framesBefore)
    await waitUntil(() => stream.frames.length > framesBefore)
    expect(stream.frames[framesBefore][0]).to.deep.equal({ priority: 2, byte: 0 })
    c.close(new Error('done'))
  })

  it('a high message does not wait for an ack: it goes out alone, in the headroom above a full window', async () => {
    const stream = new FakeStream(ACK_PROTOCOL)
    const c = channel(stream, { flowControl: { maxUnackedBytes: 32 * 1024 } } as any)

    for (let i = 0; i < 2000; i++) {
      c.enqueue(item(2, 0))
    }

    await turns(50)
    const framesBefore = stream.frames.length
    const bytesBefore = stream.bytes

    c.enqueue(item(0, 7))
    c.enqueue(item(0, 8))
    await waitUntil(() => stream.frames.length > framesBefore)
    await turns(5)
    // frames of the high messages alone (each flushes at once), no low one; then nothing more until an ack
    expect(stream.frames.slice(framesBefore).flat()).to.deep.equal([{ priority: 0, byte: 7 }, { priority: 0, byte: 8 }])
    expect(stream.bytes - bytesBefore).to.be.lessThan(300)
    c.close(new Error('done'))
  })

  it('writes without waiting for acknowledgements on a /x/batch/1.0.0 stream (peers that never acknowledge)', async () => {
    const stream = new FakeStream('/x/batch/1.0.0')
    const c = channel(stream)
    const counter = { written: 0 }
    const count = (): void => { counter.written++ }

    for (let i = 0; i < 2000; i++) {
      c.enqueue(item(2, 0, count))
    }

    await waitUntil(() => counter.written === 2000)
    expect(stream.bytes).to.be.greaterThan(200_000)
    c.close(new Error('done'))
  })

  it('resets the stream when the acceptor acknowledges more frames than were written', async () => {
    const stream = new FakeStream(ACK_PROTOCOL)
    const c = channel(stream)
    c.enqueue(item(1, 1))
    await waitUntil(() => stream.frames.length === 1)
    stream.ack(5)
    expect(stream.status).to.equal('aborted')
    c.close(new Error('done'))
  })

  it('resets a stream whose acceptor reads but never acknowledges, counts it, and writes what waits on a new stream', async () => {
    const silent = new FakeStream(ACK_PROTOCOL)
    const next = new FakeStream(ACK_PROTOCOL)
    const streams = [silent, next]
    const metrics = new BatchingMetricsRecorder()
    const c = new PeerChannel({ toString: () => 'peer' } as unknown as PeerId, {
      settings: resolveSettings({ compression: false, flowControl: { maxUnackedBytes: 16 * 1024, ackTimeout: 50 } } as any),
      metrics,
      log: defaultLogger().forComponent('test'),
      open: async () => (streams.shift() ?? new FakeStream(ACK_PROTOCOL)) as unknown as Stream,
      idle: () => {},
      shutdown: new AbortController().signal
    })

    // more than a window: the rest waits for acks that never come
    for (let i = 0; i < 400; i++) {
      c.enqueue(item(2, 0))
    }

    await waitUntil(() => silent.status === 'aborted')
    expect(metrics.protocolErrors).to.have.property('AckTimeoutError', 1)
    // the messages not yet written go out on the next stream
    await waitUntil(() => next.frames.length > 0)
    c.close(new Error('done'))
  })

  it('stops reading a stream while maxRunningHandlers of its message handlers have not settled, and reads on once they do', async () => {
    const b = await stubNode({ maxRunningHandlers: 8 } as any)
    const other = await stubNode()
    try {
      const pending: Array<() => void> = []
      b.service.handle('n', async () => new Promise<void>(resolve => { pending.push(resolve) }))
      const [outbound, inbound] = await streamPair({ delay: 0 })
      inbound.protocol = ACK_PROTOCOL
      b.inbound(inbound, other.peerId)

      const message = (n: number): Uint8Array => encodeFrame(encodeRecords([{ kind: KIND_MESSAGE, n: 0, priority: 1, payload: Uint8Array.from([n]) }]), 0)
      outbound.send(encodeFrame(encodeRecords([{ kind: KIND_NAME, n: 0, priority: 0, payload: new TextEncoder().encode('n') }]), 0))
      for (let n = 0; n < 100; n++) {
        outbound.send(message(n))
        await turns(2)
      }
      await turns(20)
      // the handlers that hang hold the stream: at most the bound (and one chunk) run, the rest waits unread
      expect(pending.length).to.be.at.least(8)
      expect(pending.length).to.be.below(20)

      // they settle: reading goes on, the next ones run
      const started = pending.length
      for (const resolve of pending.splice(0)) { resolve() }
      await waitUntil(() => pending.length >= 8)
      expect(started + pending.length).to.be.below(100)
      expect(inbound.status).to.equal('open')
    } finally {
      await b.service.stop()
      await other.service.stop()
    }
  })

  it('a payload a handler keeps does not keep the whole frame it came in alive', async () => {
    const b = await stubNode()
    const other = await stubNode()
    try {
      const kept: Uint8Array[] = []
      b.service.handle('n', async (data) => { kept.push(data) })
      b.service.handle('big', () => {})
      const [outbound, inbound] = await streamPair({ delay: 0 })
      b.inbound(inbound, other.peerId)

      const name = (n: number, value: string): any => ({ kind: KIND_NAME, n, priority: 0, payload: new TextEncoder().encode(value) })
      outbound.send(encodeFrame(encodeRecords([name(0, 'n'), name(1, 'big'),
        { kind: KIND_MESSAGE, n: 0, priority: 1, payload: new Uint8Array(10) },
        { kind: KIND_MESSAGE, n: 1, priority: 1, payload: new Uint8Array(200_000) }]), 0))
      await waitUntil(() => kept.length === 1)
      expect(kept[0].byteLength).to.equal(10)
      expect(kept[0].buffer.byteLength).to.be.below(1024)
    } finally {
      await b.service.stop()
      await other.service.stop()
    }
  })

  it('takes a chunk of very many small frames at once', async () => {
    const b = await stubNode()
    const other = await stubNode()
    try {
      let got = 0
      b.service.handle('n', () => { got++ })
      const [outbound, inbound] = await streamPair({ delay: 0 })
      b.inbound(inbound, other.peerId)

      const one = encodeFrame(encodeRecords([{ kind: KIND_MESSAGE, n: 0, priority: 1, payload: Uint8Array.from([1]) }]), 0)
      const first = encodeFrame(encodeRecords([{ kind: KIND_NAME, n: 0, priority: 0, payload: new TextEncoder().encode('n') }]), 0)
      const n = 300_000
      const chunk = new Uint8Array(first.byteLength + n * one.byteLength)
      chunk.set(first)
      for (let i = 0; i < n; i++) { chunk.set(one, first.byteLength + i * one.byteLength) }
      outbound.send(chunk)
      await waitUntil(() => got === n || inbound.status !== 'open')
      expect(got).to.equal(n)
      expect(b.service.getMetrics().protocolErrors).to.deep.equal({})
    } finally {
      await b.service.stop()
      await other.service.stop()
    }
  })

  it('acknowledges handled frames, and holds at most one ACK back while the opener does not read', async () => {
    const b = await stubNode()
    const other = await stubNode()
    try {
      const got: number[] = []
      b.service.handle('n', (data) => { got.push(data[0]) })
      const [outbound, inbound] = await streamPair({ delay: 0 })
      inbound.protocol = ACK_PROTOCOL
      const acks: Uint8Array[] = []
      // the opener never reads: every write pushes back and 'drain' never comes
      inbound.send = (data) => { acks.push(data.subarray()); return false }
      inbound.onDrain = async () => new Promise(() => {})
      b.inbound(inbound, other.peerId)

      const message = (n: number): Uint8Array => encodeFrame(encodeRecords([{ kind: KIND_MESSAGE, n: 0, priority: 1, payload: Uint8Array.from([n]) }]), 0)
      outbound.send(encodeFrame(encodeRecords([{ kind: KIND_NAME, n: 0, priority: 0, payload: new TextEncoder().encode('n') }, { kind: KIND_MESSAGE, n: 0, priority: 1, payload: Uint8Array.from([0]) }]), 0))
      await waitUntil(() => got.length === 1)
      expect(acks).to.have.lengthOf(1)
      expect([...acks[0]]).to.deep.equal([...encodeFrame(Uint8Array.from([1]), 2)])

      for (let n = 1; n < 100; n++) {
        outbound.send(message(n))
        await waitUntil(() => got.length === n + 1)
      }

      expect(acks).to.have.lengthOf(1)
    } finally {
      await b.service.stop()
      await other.service.stop()
    }
  })
})
