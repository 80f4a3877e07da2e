import { expect } from 'aegir/chai'
import { createNode, waitUntil } from './fixtures/nodes.ts'
import type { BatchingNode } from './fixtures/nodes.ts'
import type { Priority } from '../src/index.ts'

describe('integration (TCP loopback, noise, yamux)', () => {
  let a: BatchingNode
  let b: BatchingNode

  afterEach(async () => {
    await a?.stop()
    await b?.stop()
  })

  it('delivers every message in order per priority, in batches, over one stream', async () => {
    a = await createNode()
    b = await createNode()
    const received: Array<{ n: number, priority: Priority }> = []
    b.services.batching.handle('count', (data, { peer, priority }) => {
      expect(peer.equals(a.peerId)).to.be.true()
      received.push({ n: new DataView(data.buffer, data.byteOffset).getUint32(0), priority })
    })
    await a.dial(b.getMultiaddrs()[0])

    const sends: Array<Promise<void>> = []
    const priorities: Priority[] = ['low', 'normal', 'high']
    for (let n = 0; n < 3000; n++) {
      const data = new Uint8Array(100)
      new DataView(data.buffer).setUint32(0, n)
      sends.push(a.services.batching.send(b.peerId, 'count', data, { priority: priorities[n % 3] }))
    }
    await Promise.all(sends)
    await waitUntil(() => received.length === 3000)

    for (const priority of priorities) {
      const ns = received.filter(r => r.priority === priority).map(r => r.n)
      expect(ns).to.deep.equal([...ns].sort((x, y) => x - y))
      expect(ns).to.have.lengthOf(1000)
    }

    const metrics = a.services.batching.getMetrics()
    expect(metrics.messagesSent).to.equal(3000)
    expect(metrics.meanBatchSize).to.be.greaterThan(10)
    expect(metrics.streamsOpened).to.equal(1)
    expect(b.services.batching.getMetrics().messagesReceived).to.equal(3000)
  })

  it('answers requests, compressed and not, and reports a missing handler and a failing one by name', async () => {
    a = await createNode()
    b = await createNode({ compression: { threshold: 64 } })
    b.services.batching.handle('echo', (data) => data)
    b.services.batching.handle('fail', () => { throw new Error('nope') })
    await a.dial(b.getMultiaddrs()[0])

    const small = await a.services.batching.request(b.peerId, 'echo', Uint8Array.from([1, 2, 3]))
    expect([...small]).to.deep.equal([1, 2, 3])
    const json = new TextEncoder().encode(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, kind: 'tick' }))))
    const big = await a.services.batching.request(b.peerId, 'echo', json)
    expect(big).to.deep.equal(json)
    expect(b.services.batching.getMetrics().compressedBatches).to.be.greaterThan(0)
    expect(a.services.batching.getMetrics().compressedBatches).to.be.greaterThan(0)

    await expect(a.services.batching.request(b.peerId, 'nobody', new Uint8Array(1))).to.eventually.be.rejected.with.property('name', 'NoHandlerError')
    await expect(a.services.batching.request(b.peerId, 'fail', new Uint8Array(1))).to.eventually.be.rejected.with.property('name', 'RemoteHandlerError')
    expect(a.services.batching.getMetrics().requestsAnswered).to.equal(2)
  })

  it('speaks /x/batch/1.1.0 (flow control) to a peer that has it, /x/batch/1.0.0 to one that has flowControl off', async () => {
    a = await createNode()
    b = await createNode({ flowControl: false })
    const c = await createNode()
    try {
      const got: number[] = []
      b.services.batching.handle('n', (data) => { got.push(data[0]) })
      c.services.batching.handle('n', (data) => { got.push(data[0]) })
      await a.dial(b.getMultiaddrs()[0])
      await a.dial(c.getMultiaddrs()[0])

      await a.services.batching.send(b.peerId, 'n', Uint8Array.from([1]))
      await a.services.batching.send(c.peerId, 'n', Uint8Array.from([2]))
      await waitUntil(() => got.length === 2)
      const protocols = (peer: typeof b.peerId): Array<string | undefined> => a.getConnections(peer).flatMap(conn => conn.streams.map(s => s.protocol)).filter(p => p?.startsWith('/x/batch/'))
      expect(protocols(b.peerId)).to.deep.equal(['/x/batch/1.0.0'])
      expect(protocols(c.peerId)).to.deep.equal(['/x/batch/1.1.0'])
      expect([...got].sort()).to.deep.equal([1, 2])
    } finally {
      await c.stop()
    }
  })
})
