import { serviceCapabilities } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { MessageBatchingService } from '../src/batching.ts'
import { messageBatching } from '../src/index.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { fakePool, link, stubNode } from './fixtures/stubs.ts'
import type { StubNode } from './fixtures/stubs.ts'
import type { Metrics, Stream } from '@libp2p/interface'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (data: Uint8Array): string => new TextDecoder().decode(data)

describe('service', () => {
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

  it('moves messages not yet written to the next stream when the stream dies; written requests are rejected', async () => {
    const a = await node()
    const b = await node()
    link(a, b)
    const received: string[] = []
    b.service.handle('chat', (data) => { received.push(str(data)) })
    b.service.handle('never', async () => new Promise(() => {}))

    await a.service.send(b.peerId, 'chat', text('one'))
    const lost = a.service.request(b.peerId, 'never', text('?'))
    await waitUntil(() => a.service.getMetrics().requestsSent === 1)

    // the stream dies; what is sent from now on was never written to it
    a.opened[0].abort(new Error('connection lost'))
    const sends = [a.service.send(b.peerId, 'chat', text('two')), a.service.send(b.peerId, 'chat', text('three'))]

    await expect(lost).to.eventually.be.rejected.with.property('name', 'ResponseLostError')
    await Promise.all(sends)
    await waitUntil(() => received.length === 3)
    expect(received).to.deep.equal(['one', 'two', 'three'])
    expect(a.opened).to.have.lengthOf(2)
    expect(a.service.getMetrics()).to.include({ streamsOpened: 2, requestsLost: 1 })
  })

  it('closes an inbound stream once its opener closed its end and every answer is written, so no half-open stream lingers', async () => {
    const a = await node()
    const b = await node()
    link(a, b)
    b.service.handle('chat', () => {})
    await a.service.send(b.peerId, 'chat', text('one'))
    await waitUntil(() => b.service.getMetrics().inboundStreams === 1)

    // the opener closes its end gracefully (service stopping, or its channel evicted under maxPeers)
    await a.service.stop()

    await waitUntil(() => b.service.getMetrics().inboundStreams === 0)
    await waitUntil(() => a.opened[0].status === 'closed')
  })

  it('puts a frame the dying stream refused back in the queue, in order', async () => {
    const a = await node()
    const b = await node()
    link(a, b)
    const received: string[] = []
    b.service.handle('chat', (data) => { received.push(str(data)) })
    await a.service.send(b.peerId, 'chat', text('one'))

    // closed for writing but not yet reported closed: send() would throw
    await a.opened[0].close()
    await Promise.all(['two', 'three'].map(async s => a.service.send(b.peerId, 'chat', text(s))))
    await waitUntil(() => received.length === 3)
    expect(received).to.deep.equal(['one', 'two', 'three'])
  })

  it('opens the stream through the service offering @x/connection-pool when there is one', async () => {
    const ref: { a?: StubNode } = {}
    const b = await node()
    const pool = fakePool(() => ref.a as StubNode, () => b)
    const a = ref.a = await node({}, { pool })
    const got: string[] = []
    b.service.handle('chat', (data) => { got.push(str(data)) })
    await a.service.send(b.peerId, 'chat', text('via pool'))
    await waitUntil(() => got.length === 1)
    expect(pool.calls).to.equal(1)
    expect(a.connectionManager.openStream.called).to.be.false()
  })

  it('rejects queued sends with the error when the stream cannot be opened', async () => {
    const a = await node()
    const b = await node()
    a.connectionManager.openStream.rejects(Object.assign(new Error('no route'), { name: 'NoValidAddressesError' }))
    await expect(a.service.send(b.peerId, 'chat', text('x'))).to.eventually.be.rejected.with.property('name', 'NoValidAddressesError')
    expect(a.service.getMetrics()).to.include({ streamOpenFailures: 1 })
    // the channel keeps its count of failures for the back-off, then goes
    await waitUntil(() => a.service.getMetrics().peers === 0)
  })

  it('dials a multiaddr target first, and refuses one without a peer id', async () => {
    const a = await node()
    const b = await node()
    link(a, b)
    a.connectionManager.getConnections.returns([])
    a.connectionManager.openConnection.resolves(undefined as any)
    b.service.handle('chat', () => {})
    await a.service.send(multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${b.peerId}`), 'chat', text('x'))
    expect(a.connectionManager.openConnection.calledOnce).to.be.true()
    await expect(a.service.send(multiaddr('/ip4/127.0.0.1/tcp/1'), 'chat', text('x'))).to.eventually.be.rejected.with.property('name', 'InvalidBatchingOptionError')
  })

  it('applies backpressure per priority: callers wait for room, past maxWaiting they are refused', async () => {
    const a = await node({ maxQueueLength: 2, maxWaiting: 1 })
    const b = await node()
    let open: (stream: Stream) => void = () => {}
    const opened = new Promise<Stream>(resolve => { open = resolve })
    a.connectionManager.openStream.callsFake(async () => opened)
    const received: string[] = []
    b.service.handle('chat', (data) => { received.push(str(data)) })

    const first = ['1', '2', '3'].map(async s => a.service.send(b.peerId, 'chat', text(s), { priority: 'low' }))
    await expect(a.service.send(b.peerId, 'chat', text('4'), { priority: 'low' })).to.eventually.be.rejected.with.property('name', 'QueueFullError')
    // normal has its own room
    const normal = a.service.send(b.peerId, 'chat', text('n'))
    expect(a.service.getMetrics().queueLength).to.deep.equal({ high: 0, normal: 1, low: 3 })

    link(a, b)
    open(await (a.connectionManager.openStream as any)())
    await Promise.all([...first, normal])
    await waitUntil(() => received.length === 4)
    expect(received).to.deep.equal(['n', '1', '2', '3'])
  })

  it('drops a send aborted while queued, and rejects with the reason', async () => {
    const a = await node()
    const b = await node()
    a.connectionManager.openStream.callsFake(async () => new Promise(() => {}))
    const controller = new AbortController()
    const sending = a.service.send(b.peerId, 'chat', text('x'), { signal: controller.signal })
    controller.abort(new Error('changed my mind'))
    await expect(sending).to.eventually.be.rejected.with.property('message', 'changed my mind')
    expect(a.service.getMetrics().queueLength).to.deep.equal({ high: 0, normal: 0, low: 0 })
  })

  it('refuses a send or request whose signal is already aborted without keeping a channel for the peer', async () => {
    const a = await node()
    const b = await node()
    const signal = AbortSignal.abort(new Error('too late'))
    await expect(a.service.send(b.peerId, 'chat', text('x'), { signal })).to.eventually.be.rejected.with.property('message', 'too late')
    await expect(a.service.request(b.peerId, 'echo', text('x'), { signal })).to.eventually.be.rejected.with.property('message', 'too late')
    expect(a.service.getMetrics().peers).to.equal(0)
    expect(a.connectionManager.openStream.called).to.be.false()
  })

  it('skips request ids still in flight when the ids wrap at 2^32', async () => {
    const a = await node()
    const b = await node()
    link(a, b)
    b.service.handle('never', async () => new Promise(() => {}))
    b.service.handle('echo', (data) => data)
    const pending = a.service.request(b.peerId, 'never', text('?'), { signal: new AbortController().signal })
    pending.catch(() => {})
    await waitUntil(() => a.service.getMetrics().requestsSent === 1)

    // the stream's ids are about to wrap; id 0 is still in flight
    ;(a.service as any).channels.get(b.peerId.toString()).nextId = 2 ** 32 - 1
    expect(str(await a.service.request(b.peerId, 'echo', text('last')))).to.equal('last')
    expect(str(await a.service.request(b.peerId, 'echo', text('wrapped')))).to.equal('wrapped')
    expect(b.service.getMetrics().protocolErrors).to.deep.equal({})
  })

  describe('request timeouts (fake time)', () => {
    let clock: sinon.SinonFakeTimers

    beforeEach(() => { clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] }) })
    afterEach(() => { clock.restore() })

    it('times out after requestTimeout, and counts the answer that comes late', async () => {
      const a = await node({ requestTimeout: 500 })
      const b = await node()
      link(a, b)
      let answer: (data: Uint8Array) => void = () => {}
      b.service.handle('slow', async () => new Promise<Uint8Array>(resolve => { answer = resolve }))
      const pending = a.service.request(b.peerId, 'slow', text('?'))
      const outcome = pending.catch(err => err)
      await clock.tickAsync(499)
      expect(a.service.getMetrics().requestsTimedOut).to.equal(0)
      await clock.tickAsync(1)
      expect(await outcome).to.have.property('name', 'TimeoutError')
      answer(text('late'))
      await clock.tickAsync(10)
      expect(a.service.getMetrics()).to.include({ requestsTimedOut: 1, lateResponses: 1 })
    })

    it("uses @x/health's getTimeout(peer), found by capability, when no requestTimeout is set", async () => {
      const health = { [serviceCapabilities]: ['@x/health'], getTimeout: sinon.stub().returns(120) }
      const a = await node({ minRequestTimeout: 100 }, { health })
      const b = await node()
      link(a, b)
      b.service.handle('slow', async () => new Promise(() => {}))
      const outcome = a.service.request(b.peerId, 'slow', text('?')).catch(err => err)
      await clock.tickAsync(120)
      expect(await outcome).to.have.property('name', 'TimeoutError')
      expect(health.getTimeout.calledWith(b.peerId)).to.be.true()
    })

    it("waits at least minRequestTimeout (2000 ms by default) when @x/health's timeout, a ping's, is shorter: a request waits in queues and for a handler", async () => {
      const health = { [serviceCapabilities]: ['@x/health'], getTimeout: sinon.stub().returns(500) }
      const a = await node({}, { health })
      const b = await node()
      link(a, b)
      b.service.handle('busy', async (data) => new Promise(resolve => setTimeout(() => { resolve(data) }, 1500)))
      const answer = a.service.request(b.peerId, 'busy', text('?')).catch(err => err)
      await clock.tickAsync(1600)
      expect(await answer).to.deep.equal(text('?'))

      b.service.handle('slow', async () => new Promise(() => {}))
      const outcome = a.service.request(b.peerId, 'slow', text('?')).catch(err => err)
      await clock.tickAsync(2000)
      const err = await outcome
      expect(err).to.have.property('name', 'TimeoutError')
      expect(err.message).to.include('within 2000 ms')
    })

    it("falls back to the default when @x/health's timeout is not a positive number", async () => {
      const health = { [serviceCapabilities]: ['@x/health'], getTimeout: sinon.stub().returns(Number.NaN) }
      const a = await node({}, { health })
      const b = await node()
      link(a, b)
      b.service.handle('slow', async () => new Promise(() => {}))
      const outcome = a.service.request(b.peerId, 'slow', text('?')).catch(err => err)
      await clock.tickAsync(9_999)
      await clock.tickAsync(1)
      const err = await outcome
      expect(err).to.have.property('name', 'TimeoutError')
      expect(err.message).to.include('within 10000 ms')
    })

    it('answers requests by id, in any order', async () => {
      const a = await node()
      const b = await node()
      link(a, b)
      b.service.handle('delay', async (data) => new Promise(resolve => setTimeout(() => { resolve(data) }, data[0])))
      const answers = Promise.all([30, 10, 20].map(async ms => a.service.request(b.peerId, 'delay', Uint8Array.from([ms]))))
      await clock.tickAsync(40)
      expect((await answers).map(x => x[0])).to.deep.equal([30, 10, 20])
    })
  })

  it('checks options at construction and arguments at the call', async () => {
    const components: any = { registrar: stubInterface(), connectionManager: stubInterface(), logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) } }
    for (const init of [{ maxBatchSize: 0 }, { batchTimeout: -1 }, { compression: { level: 10 } }, { limits: { maxMessageBytes: 2 ** 21 } }, { metricsPrefix: 'bad-prefix' }, { maxBatchSize: 1.5 },
      { flowControl: 'on' }, { flowControl: { maxUnackedBytes: 100 } }, { flowControl: { protocol: '/x/batch/1.0.0' } }, { flowControl: { ackTimeout: 0 } }, { flowControl: { ackTimeout: 2 ** 31 } }, { maxRunningHandlers: 0 }, { maxInboundSessions: 0 }, { maxPendingAnswerBytes: -1 },
      { handlerTimeout: 2 ** 31 }, { requestTimeout: 2 ** 31 }, { minRequestTimeout: 2 ** 31 }, { minRequestTimeout: -1 }, { openTimeout: 2 ** 31 }, { reopenBackoff: { initialDelay: 100, maxDelay: 50 } }, { reopenBackoff: 5 }]) {
      expect(() => new MessageBatchingService(components, init as any)).to.throw().with.property('name', 'InvalidBatchingOptionError')
    }

    const a = await node({ limits: { maxMessageBytes: 10 } })
    const b = await node()
    await expect(a.service.send(b.peerId, 'chat', 'text' as any)).to.eventually.be.rejected.with.property('name', 'InvalidBatchingOptionError')
    await expect(a.service.send(b.peerId, '', text('x'))).to.eventually.be.rejected.with.property('name', 'InvalidBatchingOptionError')
    await expect(a.service.send(b.peerId, 'chat', new Uint8Array(11))).to.eventually.be.rejected.with.property('name', 'MessageTooLargeError')
    await expect(a.service.send(b.peerId, 'chat', text('x'), { priority: 'urgent' as any })).to.eventually.be.rejected.with.property('name', 'InvalidBatchingOptionError')
    await expect(a.service.send('peer' as any, 'chat', text('x'))).to.eventually.be.rejected.with.property('name', 'InvalidBatchingOptionError')
    expect(() => { a.service.handle('chat', 'no' as any) }).to.throw().with.property('name', 'InvalidBatchingOptionError')
  })

  it('takes a name of up to 128 bytes in UTF-8, whatever its characters', async () => {
    const a = await node()
    // 'é' is 2 bytes, a lone surrogate 3 (U+FFFD), '😀' 4
    for (const name of ['x'.repeat(128), 'é'.repeat(64), '\ud800'.repeat(42) + 'ab', '😀'.repeat(32)]) {
      expect(() => { a.service.handle(name, () => {}) }, JSON.stringify(name)).not.to.throw()
    }
    for (const name of ['x'.repeat(129), 'é'.repeat(64) + 'a', '\ud800'.repeat(43), '😀'.repeat(32) + 'a']) {
      expect(() => { a.service.handle(name, () => {}) }, JSON.stringify(name)).to.throw().with.property('name', 'InvalidBatchingOptionError')
    }
  })

  it('rejects everything queued when it stops, and refuses sends after', async () => {
    const a = await node()
    const b = await node()
    a.connectionManager.openStream.callsFake(async () => new Promise(() => {}))
    const pending = a.service.send(b.peerId, 'chat', text('x'))
    await a.service.stop()
    await expect(pending).to.eventually.be.rejected.with.property('name', 'BatchingStoppedError')
    await expect(a.service.send(b.peerId, 'chat', text('x'))).to.eventually.be.rejected.with.property('name', 'BatchingStoppedError')
  })

  it('registers its metrics with libp2p under metricsPrefix, counters ending in _total', async () => {
    const metrics = stubInterface<Metrics>()
    const factory = messageBatching({ metricsPrefix: 'custom_' })
    factory({ registrar: stubInterface(), connectionManager: stubInterface(), logger: { forComponent: () => () => {} } as any, metrics })
    const counters = metrics.registerCounterGroup.getCalls().map(c => c.args[0])
    const gauges = metrics.registerMetricGroup.getCalls().map(c => c.args[0])
    expect(counters).to.include.members(['custom_messages_total', 'custom_requests_total', 'custom_batches_total', 'custom_bytes_total', 'custom_flushes_total', 'custom_protocol_errors_total'])
    expect(counters.every(n => n.startsWith('custom_') && n.endsWith('_total'))).to.be.true()
    expect(gauges).to.deep.equal(['custom_queue_length', 'custom_status'])
    const calculate = (metrics.registerCounterGroup.getCalls().find(c => c.args[0] === 'custom_messages_total')?.args[1] as any).calculate
    expect(calculate()).to.deep.equal({ sent: 0, received: 0 })
  })
})
