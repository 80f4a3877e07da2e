import { expect } from 'aegir/chai'
import { SINK_PROTOCOL, createNode, waitUntil } from './fixtures/nodes.ts'
import { write } from './fixtures/streams.ts'
import type { Node, Sink } from './fixtures/nodes.ts'

describe('a shaped download whose connection goes away while paused (real nodes, TCP, noise, yamux)', () => {
  let a: Node | undefined
  let b: Node | undefined
  const sinkB: Sink = { received: [] }
  const uncaught: Error[] = []
  const onUncaught = (err: Error): void => { uncaught.push(err) }
  let listeners: NodeJS.UncaughtExceptionListener[] = []

  beforeEach(() => {
    // mocha's own handler would blame whatever test runs next; collect instead
    listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', onUncaught)
  })

  afterEach(async () => {
    process.removeListener('uncaughtException', onUncaught)

    for (const l of listeners) {
      process.on('uncaughtException', l)
    }

    await a?.stop()
    await b?.stop()
    sinkB.received.length = 0
    uncaught.length = 0
  })

  it('the sender stops mid-transfer: the shaper of a class maxRate throws nothing, the stream leaves the books', async () => {
    a = await createNode({})
    b = await createNode({ classes: { bulk: { protocols: ['/app/'], maxRate: 256 * 1024 } } }, sinkB)
    await a.dial(b.getMultiaddrs()[0])
    const stream = await a.dialProtocol(b.peerId, SINK_PROTOCOL)
    void write(stream, 2 * 1024 * 1024, 65_536).catch(() => {})
    await waitUntil(() => b?.services.bandwidth.getMetrics().streams.downloadPauses !== 0 && (sinkB.received[0]?.byteLength ?? 0) > 0)
    // the sender's node goes away while b's shaper holds the stream
    await a.stop()
    a = undefined
    await waitUntil(() => b?.services.bandwidth.getMetrics().streams.shaped === 0, 10_000)
    // let any shaper timer still armed fire
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(uncaught.map(e => `${e.name}: ${e.message}`)).to.deep.equal([])
  })
})
