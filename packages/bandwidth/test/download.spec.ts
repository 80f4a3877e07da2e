import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { downloadPauses, shapeDownload, unshapeDownload } from '../src/download.ts'
import { TokenBucket } from '../src/token-bucket.ts'
import { collect, isPattern, pair, write } from './fixtures/streams.ts'

describe('download shaping of a stream (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('pauses reading until the budget has paid for what arrived; every byte arrives, in order', async () => {
    // the mock muxer has no flow control: the sender is not held back, so
    // everything arrives at once and waits, paused, in the read buffer
    // (yamux holding the sender back is tested on real nodes)
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(100_000, 10_000, performance.now())
    let counted = 0
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: (n) => { counted += n }, now: () => performance.now() })
    const received = collect(inbound)
    const writing = write(outbound, 1_000_000, 16_384)
    await clock.tickAsync(100)
    await writing
    expect(counted).to.equal(1_000_000)
    expect(inbound.readStatus).to.equal('paused')
    expect(downloadPauses(inbound)).to.equal(1)
    // 1 MB at 100 kB/s, less the 10 kB burst: paused for about 9.9 s
    await clock.tickAsync(9_700)
    expect(inbound.readStatus).to.equal('paused')
    expect(received.byteLength).to.be.below(1_000_000)
    await clock.tickAsync(300)
    expect(inbound.readStatus).to.equal('readable')
    await outbound.close()
    await clock.tickAsync(100)
    expect(received.byteLength).to.equal(1_000_000)
    expect(isPattern(received)).to.be.true()
  })

  it('a FIN while the shaper holds unread bytes does not end an async iterator early (held until the buffer is read)', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(100_000, 10_000, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const chunks: Uint8Array[] = []
    const reading = (async () => {
      for await (const buf of inbound) {
        chunks.push(buf.subarray())
      }
    })()
    const writing = write(outbound, 300_000, 16_384)
    await clock.tickAsync(100)
    await writing
    await outbound.close()
    await clock.tickAsync(100)
    expect(inbound.readStatus).to.equal('paused')
    await clock.tickAsync(5_000)
    await reading
    const total = chunks.reduce((n, c) => n + c.byteLength, 0)
    expect(total).to.equal(300_000)
  })

  it('raises the read buffer limit so a paused stream holds a full yamux window', async () => {
    const [, inbound] = await pair(clock)
    expect(inbound.maxReadBufferLength).to.equal(4 * 1024 * 1024)
    shapeDownload(inbound, { pausing: [], charged: [], onReceived: () => {}, now: () => performance.now() })
    expect(inbound.maxReadBufferLength).to.be.above(16 * 1024 * 1024)
  })

  it('keeps the application\'s own pause: the shaper never resumes a stream the application paused', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const received = collect(inbound)
    outbound.send(new Uint8Array(5_000))
    await clock.tickAsync(10)
    // the shaper paused it (5 kB against a 1 kB budget); the application pauses too
    expect(inbound.readStatus).to.equal('paused')
    inbound.pause()
    await clock.tickAsync(5_000)
    expect(inbound.readStatus).to.equal('paused')
    const before = received.byteLength
    outbound.send(new Uint8Array(5_000))
    await clock.tickAsync(1_000)
    expect(received.byteLength).to.equal(before)
    inbound.resume()
    await clock.tickAsync(10)
    expect(received.byteLength).to.equal(10_000)
  })

  it('charges the bytes already buffered when the stream is shaped (sent with the protocol, before negotiation ended) and pauses for them', async () => {
    const [outbound, inbound] = await pair(clock)
    // nobody listens yet, as while libp2p negotiates: the bytes wait in the read buffer
    outbound.send(new Uint8Array(50_000))
    await clock.tickAsync(10)
    expect(inbound.readBufferLength).to.equal(50_000)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    let counted = 0
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: (n) => { counted += n }, now: () => performance.now() })
    expect(counted).to.equal(50_000)
    expect(bucket.tokens).to.be.below(-48_000)
    expect(inbound.readStatus).to.equal('paused')
    const received = collect(inbound)
    await clock.tickAsync(4_000)
    expect(received.byteLength).to.equal(0)
    await clock.tickAsync(1_000)
    expect(received.byteLength).to.equal(50_000)
  })

  it('a stream the remote opened, shaped while its buckets are in debt, starts paused: nothing is delivered until the debt is paid', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    // 2 s of debt left by other streams under the same bucket
    bucket.take(21_000, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    expect(inbound.readStatus).to.equal('paused')
    const received = collect(inbound)
    outbound.send(new Uint8Array(1_000))
    await clock.tickAsync(1_500)
    expect(received.byteLength).to.equal(0)
    await clock.tickAsync(1_000)
    expect(received.byteLength).to.equal(1_000)
  })

  it('a stream the node opened, shaped while its buckets are in debt, gets its first response at once (identify answers within its timeout), then waits', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    bucket.take(21_000, performance.now())
    shapeDownload(outbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    expect(outbound.readStatus).to.equal('readable')
    const received = collect(outbound)
    inbound.send(new Uint8Array(1_000))
    await clock.tickAsync(10)
    expect(received.byteLength).to.equal(1_000)
    expect(outbound.readStatus).to.equal('paused')
    inbound.send(new Uint8Array(1_000))
    await clock.tickAsync(1_000)
    expect(received.byteLength).to.equal(1_000)
  })

  it('unshaping resumes a stream the shaper paused', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(1, 1, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const received = collect(inbound)
    outbound.send(new Uint8Array(5_000))
    await clock.tickAsync(10)
    expect(inbound.readStatus).to.equal('paused')
    unshapeDownload(inbound)
    expect(inbound.readStatus).to.equal('readable')
    await clock.tickAsync(10)
    expect(received.byteLength).to.equal(5_000)
  })
})

describe('download shaping: end-of-stream events of a stream nobody reads (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('a held FIN and close reach their listeners once the shaper lets go, even with no message listener', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(10_000, 1_000, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const events: string[] = []
    inbound.addEventListener('remoteCloseWrite', () => { events.push('remoteCloseWrite') })
    inbound.addEventListener('close', () => { events.push('close') })
    // a handler that answers without reading the request
    outbound.send(new Uint8Array(5_000))
    await clock.tickAsync(10)
    expect(inbound.readStatus).to.equal('paused')
    void outbound.close().catch(() => {})
    await clock.tickAsync(10)
    void inbound.close().catch(() => {})
    await clock.tickAsync(10_000)
    expect(inbound.status).to.equal('closed')
    expect(events).to.deep.equal(['remoteCloseWrite', 'close'])
  })

  it('unshaping (stop) lets the held end-of-stream events go, even with no message listener', async () => {
    const [outbound, inbound] = await pair(clock)
    const bucket = new TokenBucket(1, 1, performance.now())
    shapeDownload(inbound, { pausing: [bucket], charged: [], onReceived: () => {}, now: () => performance.now() })
    const events: string[] = []
    inbound.addEventListener('remoteCloseWrite', () => { events.push('remoteCloseWrite') })
    outbound.send(new Uint8Array(5_000))
    await clock.tickAsync(10)
    void outbound.close().catch(() => {})
    await clock.tickAsync(10)
    expect(events).to.deep.equal([])
    unshapeDownload(inbound)
    expect(events).to.deep.equal(['remoteCloseWrite'])
  })
})
