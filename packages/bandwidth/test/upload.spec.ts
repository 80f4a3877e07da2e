import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { Scheduler } from '../src/scheduler.ts'
import { shapeUpload, unshapeUpload, wakeStream } from '../src/upload.ts'
import { collect, isPattern, pair, pattern, write } from './fixtures/streams.ts'
import type { Stream } from '@libp2p/interface'

function shaped (scheduler: Scheduler, stream: Stream, cls = 'default'): { sent: number } {
  const counter = { sent: 0 }
  const flow = scheduler.flow(cls, [], () => { wakeStream(stream) })
  shapeUpload(stream, { flow, scheduler, onSent: (n) => { counter.sent += n } })
  stream.addEventListener('close', () => { scheduler.remove(flow) })
  return counter
}

describe('upload shaping of a stream (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('holds the rate: send() returns false, drain follows, every byte arrives in order', async () => {
    const scheduler = new Scheduler({ maxUpload: 100_000, classes: [{ name: 'default', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }], burstTime: 10 })
    const [outbound, inbound] = await pair(clock)
    const counter = shaped(scheduler, outbound)
    const received = collect(inbound)
    const writing = write(outbound, 1_000_000, 65_536)
    await clock.tickAsync(5_000)
    // 5 s at 100 kB/s, within a burst and a grant
    expect(received.byteLength).to.be.within(500_000 - 5_000, 500_000 + 5_000)
    expect(counter.sent).to.be.at.least(received.byteLength)
    // the writer is held back, not buffered without bound
    expect(outbound.writeBufferLength).to.be.below(2 * 65_536)
    await clock.tickAsync(5_500)
    const stats = await writing
    expect(stats.falses).to.be.above(10)
    expect(stats.drains).to.equal(stats.falses)
    const closing = outbound.close()
    await clock.tickAsync(100)
    await closing
    expect(received.byteLength).to.equal(1_000_000)
    expect(isPattern(received)).to.be.true()
    scheduler.stop()
  })

  it('close() waits for the shaped bytes; nothing is lost', async () => {
    const scheduler = new Scheduler({ maxUpload: 50_000, classes: [{ name: 'default', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }], burstTime: 10 })
    const [outbound, inbound] = await pair(clock)
    shaped(scheduler, outbound)
    const received = collect(inbound)
    // one send of 200 kB, no waiting for drain, then close
    outbound.send(pattern(200_000))
    let closed = false
    const closing = outbound.close().then(() => { closed = true })
    await clock.tickAsync(2_000)
    expect(closed).to.be.false()
    expect(received.byteLength).to.be.below(200_000)
    await clock.tickAsync(3_000)
    await closing
    expect(received.byteLength).to.equal(200_000)
    expect(isPattern(received)).to.be.true()
    scheduler.stop()
  })

  it('a writer that ignores backpressure gets libp2p\'s StreamBufferError, not unbounded memory', async () => {
    const scheduler = new Scheduler({ maxUpload: 10_000, classes: [{ name: 'default', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }], burstTime: 10 })
    const [outbound] = await pair(clock)
    shaped(scheduler, outbound)
    expect(outbound.maxWriteBufferLength).to.equal(8 * 1024 * 1024)
    let error: Error | undefined
    outbound.addEventListener('close', (evt) => { error = evt.error })

    for (let i = 0; i < 200 && outbound.status === 'open'; i++) {
      outbound.send(new Uint8Array(65_536))
    }

    await clock.tickAsync(10)
    expect(outbound.status).to.equal('aborted')
    expect(error?.name).to.equal('StreamBufferError')
    expect(scheduler.queued).to.equal(0)
    scheduler.stop()
  })

  it('interactive writes go ahead of a bulk stream that saturates the rate', async () => {
    const scheduler = new Scheduler({
      maxUpload: 100_000,
      classes: [
        { name: 'interactive', priority: 1, weight: 1, maxRate: Infinity, minRate: 0 },
        { name: 'bulk', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }
      ],
      burstTime: 10
    })
    const [bulkOut, bulkIn] = await pair(clock)
    const [chatOut, chatIn] = await pair(clock)
    shaped(scheduler, bulkOut, 'bulk')
    shaped(scheduler, chatOut, 'interactive')
    collect(bulkIn)
    void write(bulkOut, 10_000_000, 65_536).catch(() => {})
    await clock.tickAsync(1_000)
    const delays: number[] = []

    for (let i = 0; i < 20; i++) {
      const sentAt = Date.now()
      const arrived = new Promise<void>(resolve => { chatIn.addEventListener('message', () => { resolve() }, { once: true }) })
      chatOut.send(pattern(100))
      await clock.tickAsync(50)
      await arrived
      delays.push(Date.now() - sentAt)
    }

    // queued behind at most one bulk grant (4 ms at 100 kB/s, 1 KiB minimum: ~10 ms) plus the pair's 1 ms delay
    expect(scheduler.classes.get('interactive')?.stats.maxDelay).to.be.at.most(12)
    bulkOut.abort(new Error('done'))
    scheduler.stop()
  })

  it('unshaping wakes the stream and lets the rest through unlimited', async () => {
    const scheduler = new Scheduler({ maxUpload: 1000, classes: [{ name: 'default', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }], burstTime: 10 })
    const [outbound, inbound] = await pair(clock)
    shaped(scheduler, outbound)
    const received = collect(inbound)
    outbound.send(pattern(100_000))
    await clock.tickAsync(100)
    expect(received.byteLength).to.be.below(10_000)
    unshapeUpload(outbound)
    await clock.tickAsync(100)
    expect(received.byteLength).to.equal(100_000)
    expect(isPattern(received)).to.be.true()
    scheduler.stop()
  })
  it('a muxer drain whose send throws (the connection went away under a writable stream) aborts the stream instead of throwing into the muxer', async () => {
    const scheduler = new Scheduler({ maxUpload: 1000, classes: [{ name: 'default', priority: 0, weight: 1, maxRate: Infinity, minRate: 0 }], burstTime: 10 })
    const [outbound] = await pair(clock)
    const s = outbound as unknown as { sendData(buf: unknown): unknown }
    const sendData = s.sendData
    let muxer: 'ok' | 'full' | 'gone' = 'full'
    s.sendData = function (this: unknown, buf: unknown) {
      if (muxer === 'gone') {
        throw new Error('transport gone')
      }

      if (muxer === 'full') {
        return { sentBytes: 0, canSendMore: false }
      }

      return sendData.call(this, buf)
    }
    shaped(scheduler, outbound)
    // granted, but the muxer is full: the stream holds its grant and waits for the muxer's drain
    outbound.send(pattern(500))
    await clock.tickAsync(100)
    expect(outbound.writeBufferLength).to.equal(500)
    muxer = 'gone'
    // what the muxer does when its connection drains (onMuxerDrain)
    expect(() => outbound.dispatchEvent(new Event('drain'))).to.not.throw()
    expect(outbound.status).to.equal('aborted')
    scheduler.stop()
  })
})
