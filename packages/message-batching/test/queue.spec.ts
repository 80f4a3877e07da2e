import { expect } from 'aegir/chai'
import { PriorityQueues } from '../src/queue.ts'
import type { QueueItem } from '../src/queue.ts'

interface Item extends QueueItem { n: number }

const item = (n: number, priority = 1, size = 10): Item => ({ n, priority, size })

describe('priority queues', () => {
  it('takes high first, then normal, keeping a tenth of the batch for low', () => {
    const queues = new PriorityQueues<Item>({ maxLength: 1000, maxBytes: 1e6, maxWaiting: 10 })
    for (let n = 0; n < 50; n++) { queues.push(item(n, 2)) }
    for (let n = 100; n < 200; n++) { queues.push(item(n, 1)) }
    queues.push(item(1000, 0))

    const batch = queues.take(20, 1e6)
    expect(batch.map(i => i.n)).to.deep.equal([1000, ...Array.from({ length: 17 }, (_, i) => 100 + i), 0, 1])
    expect(queues.lengthOf(1)).to.equal(83)
    expect(queues.lengthOf(2)).to.equal(48)
  })

  it('fills a batch with low when normal is empty, and stops at the byte bound (at least one item)', () => {
    const queues = new PriorityQueues<Item>({ maxLength: 1000, maxBytes: 1e6, maxWaiting: 10 })
    for (let n = 0; n < 10; n++) { queues.push(item(n, 2, 100)) }
    expect(queues.take(100, 250).map(i => i.n)).to.deep.equal([0, 1])
    expect(queues.take(100, 50).map(i => i.n)).to.deep.equal([2])
  })

  it('makes callers wait past the bound, each priority on its own, and rejects past maxWaiting', () => {
    const queues = new PriorityQueues<Item>({ maxLength: 2, maxBytes: 1e6, maxWaiting: 1 })
    expect(queues.push(item(0, 2))).to.be.true()
    expect(queues.push(item(1, 2))).to.be.true()
    expect(queues.push(item(2, 2))).to.be.false()
    expect(() => queues.push(item(3, 2))).to.throw().with.property('name', 'QueueFullError')
    // a low flood does not keep normal out
    expect(queues.push(item(10, 1))).to.be.true()
    expect(queues.queuedLength()).to.equal(3)
    expect(queues.take(10, 1e6).map(i => i.n)).to.deep.equal([10, 0, 1, 2])
  })

  it('skips cancelled items and puts unwritten ones back in order', () => {
    const queues = new PriorityQueues<Item>({ maxLength: 10, maxBytes: 1e6, maxWaiting: 10 })
    const items = [item(0), item(1), item(2), item(3)]
    items.forEach(i => queues.push(i))
    queues.cancel(items[1])
    expect(queues.length).to.equal(3)
    const taken = queues.take(2, 1e6)
    expect(taken.map(i => i.n)).to.deep.equal([0, 2])
    queues.restore(taken)
    expect(queues.take(10, 1e6).map(i => i.n)).to.deep.equal([0, 2, 3])
    expect(queues.length).to.equal(0)
    expect(queues.bytes).to.equal(0)
  })

  it('cancelling an item already taken (a request given up on after it was written) changes no count', () => {
    const queues = new PriorityQueues<Item>({ maxLength: 10, maxBytes: 1e6, maxWaiting: 10 })
    const items = [item(0), item(1)]
    items.forEach(i => queues.push(i))
    const taken = queues.take(1, 1e6)
    queues.cancel(taken[0])
    expect(queues.length).to.equal(1)
    expect(queues.take(10, 1e6).map(i => i.n)).to.deep.equal([1])
    expect(queues.length).to.equal(0)
    expect(queues.bytes).to.equal(0)
  })
})
