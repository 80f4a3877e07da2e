import { expect } from 'aegir/chai'
import { SINK_PROTOCOL, createNode, waitUntil } from './fixtures/nodes.ts'
import { pattern } from './fixtures/streams.ts'
import type { Node, Sink } from './fixtures/nodes.ts'

describe('a peer that resets its streams (real nodes, TCP, noise, yamux)', () => {
  let a: Node
  let b: Node
  const sinkB: Sink = { received: [] }

  afterEach(async () => {
    await a?.stop()
    await b?.stop()
    sinkB.received.length = 0
  })

  it('its next stream waits for the perPeer.maxDownload debt the reset one left', async () => {
    // 200 KiB fits the 256 KiB window yamux grants every new stream: it arrives whatever b's
    // budget says, and leaves a's budget about 50 s in debt
    const rate = 4 * 1024
    const chunk = 200 * 1024
    a = await createNode()
    b = await createNode({ perPeer: { maxDownload: rate } }, sinkB)
    await a.dial(b.getMultiaddrs()[0])
    await waitUntil(() => b.services.bandwidth.getMetrics().streams.shaped === 0)
    const received = (): number => b.services.bandwidth.getMetrics().peers[a.peerId.toString()]?.in.total ?? 0
    const first = await a.dialProtocol(b.peerId, SINK_PROTOCOL)
    first.send(pattern(chunk))
    await waitUntil(() => received() >= chunk)
    first.abort(new Error('the peer resets the stream'))
    // a has no stream left on b
    await waitUntil(() => b.services.bandwidth.getMetrics().streams.shaped === 0)
    const second = await a.dialProtocol(b.peerId, SINK_PROTOCOL)
    second.send(pattern(chunk))
    await waitUntil(() => received() >= 2 * chunk)
    // the second stream's bytes are all at b, and held: forgiving the debt when the reset
    // stream left would have delivered them
    await waitUntil(() => sinkB.received.length === 2)
    expect(sinkB.received[1].byteLength).to.equal(0)
    expect(b.services.bandwidth.getMetrics().streams.downloadPauses).to.be.above(1)
  })
})
