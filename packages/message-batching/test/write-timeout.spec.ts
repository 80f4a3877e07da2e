import { defaultLogger } from '@libp2p/logger'
import { streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { PeerChannel } from '../src/channel.ts'
import { FrameDecoder, KIND_MESSAGE, KIND_NAME, KIND_REQUEST, decodeRecords, encodeFrame, encodeRecords } from '../src/codec.ts'
import { BatchingMetricsRecorder } from '../src/metrics.ts'
import { resolveSettings } from '../src/options.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { stubNode } from './fixtures/stubs.ts'
import type { OutgoingItem } from '../src/channel.ts'
import type { PeerId, Stream } from '@libp2p/interface'

/** A /x/batch/1.0.0 acceptor's end that never reads: with `stalled`, every write pushes back and 'drain' never comes */
class FakeStream extends EventTarget {
  protocol = '/x/batch/1.0.0'
  status = 'open'
  writeStatus = 'writable'
  abortedWith?: Error
  readonly messages: number[] = []
  private readonly decoder = new FrameDecoder(1 << 20)
  private readonly stalled: boolean

  constructor (stalled: boolean) {
    super()
    this.stalled = stalled
  }

  send (data: Uint8Array): boolean {
    for (const frame of this.decoder.push(data)) {
      for (const record of decodeRecords(frame.body, { maxRecordsPerFrame: 4096, maxMessageBytes: 1 << 20 })) {
        if (record.kind === KIND_MESSAGE) { this.messages.push(record.payload[0]) }
      }
    }
    return !this.stalled
  }

  async onDrain (): Promise<void> {
    if (this.stalled) { return new Promise(() => {}) }
  }

  abort (err: Error): void { this.status = 'aborted'; this.abortedWith = err; this.writeStatus = 'closed' }
  async close (): Promise<void> { this.status = 'closed' }
}

function item (kind: typeof KIND_MESSAGE | typeof KIND_REQUEST, byte: number, failed: Error[]): OutgoingItem {
  const payload = new Uint8Array(100)
  payload[0] = byte
  return { kind, name: 'n', payload, priority: 1, size: 100, fail: (err) => { failed.push(err) } }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) { await Promise.resolve() }
}

describe('write timeout (a remote that never reads)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => { clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] }) })
  afterEach(() => { clock.restore() })

  it('resets a /x/batch/1.0.0 stream whose writes wait for drain longer than writeTimeout, counts it, rejects requests in flight and writes the rest on a new stream', async () => {
    const stuck = new FakeStream(true)
    const next = new FakeStream(false)
    const streams = [stuck, next]
    const metrics = new BatchingMetricsRecorder()
    const c = new PeerChannel({ toString: () => 'peer' } as unknown as PeerId, {
      settings: resolveSettings({ compression: false, writeTimeout: 5000, maxBatchSize: 10 } as any),
      metrics,
      log: defaultLogger().forComponent('test'),
      open: async () => streams.shift() as unknown as Stream,
      idle: () => {},
      shutdown: new AbortController().signal,
      random: () => 1
    })
    const failed: Error[] = []
    c.enqueue(item(KIND_REQUEST, 0, failed))
    await settle()
    // the request's frame went out and pushed back: everything sent now waits for 'drain'
    for (let i = 1; i <= 20; i++) { c.enqueue(item(KIND_MESSAGE, i, failed)) }
    await settle()

    await clock.tickAsync(4999)
    expect(stuck.status).to.equal('open')

    await clock.tickAsync(1)
    await settle()
    expect(stuck.status).to.equal('aborted')
    expect(stuck.abortedWith?.name).to.equal('WriteTimeoutError')
    expect(metrics.protocolErrors).to.have.property('WriteTimeoutError', 1)
    expect(failed.map(err => err.name)).to.deep.equal(['ResponseLostError'])
    expect((failed[0].cause as Error).name).to.equal('WriteTimeoutError')

    // the messages not yet written go out on the next stream, in order
    await clock.tickAsync(10_000)
    await settle()
    expect(next.messages).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1))
    c.close(new Error('done'))
  })

  it('keeps a stream whose drain comes before writeTimeout', async () => {
    const slow = new FakeStream(false)
    let drained: () => void = () => {}
    let push = true
    slow.send = function (this: FakeStream, data: Uint8Array) { FakeStream.prototype.send.call(this, data); return !push }
    slow.onDrain = async () => new Promise<void>(resolve => { drained = resolve })
    const metrics = new BatchingMetricsRecorder()
    const c = new PeerChannel({ toString: () => 'peer' } as unknown as PeerId, {
      settings: resolveSettings({ compression: false, writeTimeout: 5000 } as any),
      metrics,
      log: defaultLogger().forComponent('test'),
      open: async () => slow as unknown as Stream,
      idle: () => {},
      shutdown: new AbortController().signal
    })
    const failed: Error[] = []
    c.enqueue(item(KIND_MESSAGE, 1, failed))
    await settle()
    await clock.tickAsync(4000)
    push = false
    drained()
    await settle()
    await clock.tickAsync(4000)
    c.enqueue(item(KIND_MESSAGE, 2, failed))
    await settle()
    await clock.tickAsync(10_000)
    expect(slow.status).to.equal('open')
    expect(metrics.protocolErrors).to.deep.equal({})
    expect(slow.messages).to.deep.equal([1, 2])
    c.close(new Error('done'))
  })

  it('rejects a writeTimeout that is not a positive integer of at most 2^31 - 1', () => {
    for (const writeTimeout of [0, -1, 1.5, 2 ** 31, 'x']) {
      expect(() => resolveSettings({ writeTimeout } as any)).to.throw().with.property('name', 'InvalidBatchingOptionError')
    }
  })
})

describe('write timeout on an inbound stream (an opener that reads none of its answers)', () => {
  it('resets the stream with WriteTimeoutError and counts it', async () => {
    const b = await stubNode({ writeTimeout: 50 })
    const other = await stubNode()
    try {
      b.service.handle('echo', (data) => data)
      const [outbound, inbound] = await streamPair({ delay: 0 })
      // the opener never reads: every write pushes back and 'drain' never comes
      inbound.send = () => false
      inbound.onDrain = async () => new Promise(() => {})
      b.inbound(inbound, other.peerId)

      outbound.send(encodeFrame(encodeRecords([
        { kind: KIND_NAME, n: 0, priority: 0, payload: new TextEncoder().encode('echo') },
        { kind: KIND_REQUEST, n: 0, priority: 1, id: 0, payload: Uint8Array.from([1]) }]), 0))
      await waitUntil(() => inbound.status !== 'open')
      expect(b.service.getMetrics().protocolErrors).to.deep.equal({ WriteTimeoutError: 1 })
    } finally {
      await b.service.stop()
      await other.service.stop()
    }
  })
})
