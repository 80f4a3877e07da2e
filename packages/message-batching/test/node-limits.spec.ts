import { streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { KIND_NAME, KIND_REQUEST, encodeFrame, encodeRecords } from '../src/codec.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { link, stubNode } from './fixtures/stubs.ts'
import type { WireRecord } from '../src/codec.ts'
import type { StubNode } from './fixtures/stubs.ts'
import type { Stream } from '@libp2p/interface'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const frame = (...records: WireRecord[]): Uint8Array => encodeFrame(encodeRecords(records), 0)
const name = (n: number, value: string): WireRecord => ({ kind: KIND_NAME, n, priority: 0, payload: text(value) })
const request = (id: number, size: number): WireRecord => ({ kind: KIND_REQUEST, n: 0, priority: 1, id, payload: new Uint8Array(size) })

describe('node-wide limits', () => {
  const nodes: StubNode[] = []
  const node = async (...args: Parameters<typeof stubNode>): Promise<StubNode> => {
    const n = await stubNode(...args)
    nodes.push(n)
    return n
  }

  afterEach(async () => {
    sinon.restore()
    await Promise.all(nodes.splice(0).map(async n => n.service.stop()))
  })

  /** An inbound stream from a new peer; `reads: false` makes it a remote that never reads our answers */
  async function inbound (to: StubNode, reads = true): Promise<{ outbound: Stream, inbound: Stream, closed: Promise<Error | undefined> }> {
    const other = await node()
    const [outbound, inboundStream] = await streamPair({ delay: 0 })
    if (!reads) {
      inboundStream.send = () => false
      inboundStream.onDrain = async () => new Promise(() => {})
    }
    const closed = new Promise<Error | undefined>(resolve => { inboundStream.addEventListener('close', (evt) => { resolve(evt.error) }, { once: true }) })
    to.inbound(inboundStream, other.peerId)
    return { outbound, inbound: inboundStream, closed }
  }

  it('refuses inbound streams beyond maxInboundSessions, over all peers, and counts them', async () => {
    const b = await node({ maxInboundSessions: 2 })
    const first = await inbound(b)
    const second = await inbound(b)
    const third = await inbound(b)

    expect(await third.closed).to.have.property('name', 'TooManyInboundStreamsError')
    expect(b.service.getMetrics()).to.include({ inboundStreams: 2, inboundStreamsRefused: 1 })
    expect(first.inbound.status).to.equal('open')
    expect(second.inbound.status).to.equal('open')
  })

  it('resets the inbound stream holding the most unwritten answer bytes when all of them pass maxPendingAnswerBytes', async () => {
    const b = await node({ maxPendingAnswerBytes: 10_000 })
    b.service.handle('echo', (data) => data)
    const hog = await inbound(b, false)
    const other = await inbound(b, false)

    // the hog: answer 1 is handed to its stream, 2 and 3 wait (8 KiB)
    hog.outbound.send(frame(name(0, 'echo'), request(1, 4096), request(2, 4096), request(3, 4096)))
    await waitUntil(() => b.service.getMetrics().requestsReceived === 3)
    // the other: answer 1 handed over, answer 2 (4 KiB) would make 12 KiB waiting
    other.outbound.send(frame(name(0, 'echo'), request(1, 4096), request(2, 4096)))

    expect(await hog.closed).to.have.property('name', 'PendingAnswersLimitError')
    await waitUntil(() => b.service.getMetrics().requestsReceived === 5)
    expect(b.service.getMetrics()).to.include({ pendingAnswerResets: 1, inboundStreams: 1 })
    expect(other.inbound.status).to.equal('open')
  })

  describe('hanging remote handlers and reopening (fake time)', () => {
    let clock: sinon.SinonFakeTimers

    beforeEach(() => { clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] }) })
    afterEach(() => { clock.restore() })

    it('a request with a signal still times out after the default timeout', async () => {
      const a = await node({ requestTimeout: 500 })
      const b = await node()
      link(a, b)
      b.service.handle('hang', async () => new Promise(() => {}))
      const outcome = a.service.request(b.peerId, 'hang', text('?'), { signal: new AbortController().signal }).catch(err => err)
      await clock.tickAsync(500)
      expect(await outcome).to.have.property('name', 'TimeoutError')
    })

    it('a handler that never returns is answered with an error after handlerTimeout, and is told through its signal', async () => {
      const a = await node({ requestTimeout: 5000 })
      const b = await node({ handlerTimeout: 1000 })
      link(a, b)
      let signal: AbortSignal | undefined
      b.service.handle('hang', async (_data, context) => {
        signal = (context as any).signal
        return new Promise(() => {})
      })
      const outcome = a.service.request(b.peerId, 'hang', text('?')).catch(err => err)
      await clock.tickAsync(1000)
      const err = await outcome
      expect(err).to.have.property('name', 'RemoteHandlerError')
      expect(err.message).to.include('1000 ms')
      expect(signal?.aborted).to.be.true()
    })

    it('never makes the remote reset the stream with requests its hanging handler still holds', async () => {
      const limits = { maxInflightRequests: 4 }
      const a = await node({ requestTimeout: 100, limits })
      const b = await node({ limits })
      link(a, b)
      b.service.handle('hang', async () => new Promise(() => {}))
      const names: string[] = []

      for (let i = 0; i < 10; i++) {
        const outcome = a.service.request(b.peerId, 'hang', text('?')).catch(err => err)
        await clock.tickAsync(100)
        names.push((await outcome).name)
      }

      expect(names.slice(0, 4)).to.deep.equal(['TimeoutError', 'TimeoutError', 'TimeoutError', 'TimeoutError'])
      expect(new Set(names.slice(4))).to.deep.equal(new Set(['TooManyRequestsError']))
      expect(b.service.getMetrics().protocolErrors).to.deep.equal({})
      expect(a.service.getMetrics().streamsOpened).to.equal(1)
    })

    it('backs off exponentially, with jitter and a bound, between reopens of a stream that keeps dying', async () => {
      const a = await node({ reopenBackoff: { initialDelay: 100, maxDelay: 2000 } })
      const b = await node()
      link(a, b)
      // every stream b accepts dies at once
      await b.service.stop()
      const sends: Array<Promise<unknown>> = []

      // a message every 10 ms for 10 s
      for (let t = 0; t < 10_000; t += 10) {
        sends.push(a.service.send(b.peerId, 'chat', text('x')).catch(err => err))
        await clock.tickAsync(10)
      }

      const opens = a.connectionManager.openStream.callCount
      // without back-off: a new stream for every death (hundreds); with it: 100, 200, 400 ... 2000 ms apart (halved at most by jitter)
      expect(opens).to.be.at.least(5)
      expect(opens).to.be.at.most(20)
      sends.length = 0
    })
  })
})
