import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import sinon from 'sinon'
import { shapeDownload, unshapeDownload } from '../src/download.ts'
import { TokenBucket } from '../src/token-bucket.ts'
import { collect, pattern } from './fixtures/streams.ts'
import type { Stream, StreamMuxer } from '@libp2p/interface'

/** Two yamux muxers over a mock connection pair, and one stream between them */
async function yamuxPair (clock: sinon.SinonFakeTimers): Promise<{ outbound: Stream, inbound: Stream, connections: ReturnType<typeof multiaddrConnectionPair>, muxers: StreamMuxer[] }> {
  const connections = multiaddrConnectionPair({ delay: 1 })
  const factory = yamux({ enableKeepAlive: false })()
  const local = factory.createStreamMuxer(connections[0])
  const remote = factory.createStreamMuxer(connections[1])
  const incoming = pEvent<'stream', CustomEvent<Stream>>(remote, 'stream')
  const outbound = await local.createStream()
  outbound.send(new Uint8Array(0))
  const tick = clock.tickAsync(20)
  const inbound = (await incoming).detail
  await tick
  return { outbound, inbound, connections, muxers: [local, remote] }
}

describe('download shaping: a stream that ends while the shaper holds it (yamux, fake time)', () => {
  let clock: sinon.SinonFakeTimers
  const uncaught: Error[] = []
  const onUncaught = (err: Error): void => { uncaught.push(err) }
  let listeners: NodeJS.UncaughtExceptionListener[] = []

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] })
    uncaught.length = 0
    // mocha's own handler would fail whatever test runs next; collect instead
    listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', onUncaught)
  })

  afterEach(() => {
    clock.restore()
    process.removeListener('uncaughtException', onUncaught)

    for (const l of listeners) {
      process.on('uncaughtException', l)
    }
  })

  async function pausedStream (): Promise<{ outbound: Stream, inbound: Stream, connections: ReturnType<typeof multiaddrConnectionPair>, muxers: StreamMuxer[], received: ReturnType<typeof collect> }> {
    const pair = await yamuxPair(clock)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    shapeDownload(pair.inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const received = collect(pair.inbound)
    pair.outbound.send(pattern(50_000))
    await clock.tickAsync(20)
    // the shaper paused the stream; what the sender still has window for waits in the read buffer
    pair.outbound.send(pattern(50_000, 50_000))
    await clock.tickAsync(20)
    expect(pair.inbound.readStatus).to.equal('paused')
    expect(pair.inbound.readBufferLength).to.be.above(0)
    return { ...pair, received }
  }

  it('the connection closes while paused: the timer neither throws nor loses the buffered bytes', async () => {
    const { inbound, connections, received } = await pausedStream()
    const buffered = inbound.readBufferLength + received.byteLength
    // the receiving side's connection goes away (its socket closed)
    void connections[1].close().catch(() => {})
    await clock.tickAsync(20)
    expect(inbound.status).to.not.equal('open')
    await clock.tickAsync(10_000)
    expect(uncaught.map(e => e.name)).to.deep.equal([])
    expect(received.byteLength).to.equal(buffered)
  })

  it('the stream is reset while paused: the timer does not throw', async () => {
    const { outbound, inbound } = await pausedStream()
    outbound.abort(new Error('gone'))
    await clock.tickAsync(20)
    expect(inbound.status).to.equal('reset')
    await clock.tickAsync(10_000)
    expect(uncaught.map(e => e.name)).to.deep.equal([])
  })

  it('the remote resets the stream while the shaper holds its bytes: they are dropped, not delivered, and the refunded buckets get them back', async () => {
    const pair = await yamuxPair(clock)
    const peer = new TokenBucket(10_000, 1_000, performance.now())
    const node = new TokenBucket(10_000, 1_000, performance.now())
    shapeDownload(pair.inbound, { pausing: [node, peer], charged: [], refunded: [node], onReceived: () => {}, now: () => performance.now() })
    const received = collect(pair.inbound)
    pair.outbound.send(pattern(50_000))
    await clock.tickAsync(20)
    pair.outbound.send(pattern(50_000, 50_000))
    await clock.tickAsync(20)
    expect(pair.inbound.readStatus).to.equal('paused')
    const delivered = received.byteLength
    const buffered = pair.inbound.readBufferLength
    expect(buffered).to.be.above(0)
    pair.outbound.abort(new Error('gone'))
    await clock.tickAsync(20)
    expect(pair.inbound.status).to.equal('reset')
    // the shaper lets go, as the service does when the stream closes
    unshapeDownload(pair.inbound)
    await clock.tickAsync(20)
    expect(received.byteLength).to.equal(delivered)
    // the peer paid for everything; the node only for what was delivered
    peer.refill(performance.now())
    node.refill(performance.now())
    expect(peer.tokens).to.be.below(0)
    expect(node.tokens - peer.tokens).to.be.closeTo(buffered, 1)
    await clock.tickAsync(20_000)
    expect(received.byteLength).to.equal(delivered)
    expect(uncaught.map(e => e.name)).to.deep.equal([])
  })

  it('the muxer aborts while paused: the timer does not throw', async () => {
    const { inbound, muxers } = await pausedStream()
    muxers[1].abort(new Error('gone'))
    await clock.tickAsync(20)
    expect(inbound.status).to.not.equal('open')
    await clock.tickAsync(10_000)
    expect(uncaught.map(e => e.name)).to.deep.equal([])
  })
})
