import { expect } from 'aegir/chai'
import { FlowWindow } from '../src/flow.ts'

describe('flow window', () => {
  it('the window grows while round trips stay near the smallest one and shrinks when a queue builds (injected clock)', () => {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    const start = flow.window

    // 10 ms round trips, no queue: the window grows by what was acknowledged
    for (let i = 0; i < 8; i++) {
      while (flow.open()) { flow.sent(10_000) }
      now += 10
      flow.acked(Math.ceil(flow.unacked / 10_000))
    }
    expect(flow.window).to.equal(1 << 20)
    expect(flow.window).to.be.greaterThan(start)

    // a queue builds: 40 ms round trips, the window shrinks down to its floor, never below
    for (let i = 0; i < 100; i++) {
      flow.sent(10_000)
      now += 40
      flow.acked(flow.unacked === 0 ? 0 : Math.ceil(flow.unacked / 10_000))
    }
    expect(flow.window).to.equal(16 * 1024)
    expect(flow.unacked).to.equal(0)
    expect(() => { flow.acked(1) }).to.throw().with.property('name', 'ProtocolViolationError')
  })
})
