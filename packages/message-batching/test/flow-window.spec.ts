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
    flow.sent(1000)
    for (const count of [0, -1, 0.5, NaN]) {
      expect(() => { flow.acked(count) }).to.throw().with.property('name', 'ProtocolViolationError')
    }
    expect(flow.unacked).to.equal(1000)
  })

  it('grows additively after the first queue, and re-measures the smallest round trip with the queue drained every 10 s (injected clock)', () => {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    // base round trip 10 ms
    flow.sent(1000)
    now += 10
    flow.acked(1)
    // a queue: 30 ms, the window shrinks; slow start is over
    flow.sent(1000)
    now += 30
    flow.acked(1)
    const shrunk = flow.window
    // no queue: it grows by about 16 KiB per window's worth of acknowledged bytes, not by all of them
    flow.sent(shrunk)
    now += 10
    flow.acked(1)
    expect(flow.window - shrunk).to.be.at.most(16 * 1024)
    expect(flow.window).to.be.greaterThan(shrunk)

    // 10 s later, under a standing queue of our own (25 ms samples)
    now += 10_001
    const before = flow.window
    flow.sent(1000)
    now += 25
    flow.acked(1)
    expect(flow.window).to.equal(16 * 1024)
    expect(flow.minRtt).to.equal(10)
    // with the window at its floor the queue drains: samples of 12 ms, then the probe ends after two round trips
    for (let i = 0; i < 6; i++) {
      flow.sent(1000)
      now += 12
      flow.acked(1)
    }
    expect(flow.minRtt).to.equal(12)
    expect(flow.window).to.be.at.least(before)
  })

  it('late acks (a busy event loop) do not shrink the window below what the path delivers (injected clock)', () => {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    // a 50 ms round trip that delivers whatever is sent: the first round measures it
    while (flow.open()) { flow.sent(1024) }
    const first = flow.unacked
    now += 50
    flow.acked(first / 1024)

    // then three rounds of four have their ack 40 ms late, as when the event loop that reads them stalls
    for (let round = 0; round < 40; round++) {
      while (flow.open()) { flow.sent(1024) }
      now += round % 4 === 3 ? 50 : 90
      flow.acked(flow.unacked / 1024)
    }

    // at least the first round's rate times the round trip: throughput is not capped below what the path gave
    expect(flow.window).to.be.at.least(first)
  })

  /**
   * Rounds of a whole window on a simulated path, in injected time: the
   * sender always has more to send (window-limited); `rtt(window)` is the
   * round trip of a round that carries `window` bytes. Returns the mean
   * delivery rate (bytes/ms) and window of the last `tail` rounds.
   */
  function run (rtt: (bytes: number) => number, rounds: number, tail: number): { rate: number, window: number } {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    let bytes = 0
    let time = 0
    let windows = 0

    for (let round = 0; round < rounds; round++) {
      while (flow.open()) { flow.sent(10_240) }
      const inFlight = flow.unacked
      const took = rtt(inFlight)
      now += took
      flow.acked(inFlight / 10_240)

      if (round >= rounds - tail) {
        bytes += inFlight
        time += took
        windows += inFlight
      }
    }

    return { rate: bytes / time, window: windows / tail }
  }

  it('grows the window while a larger one delivers more, though round trips grow with it (one CPU shared by both ends: injected clock)', () => {
    // 50 ms of path, and every byte in flight costs the one CPU time: a round of W bytes takes 50 + W / 6000 ms
    const cpu = 6000
    const { rate } = run(bytes => 50 + bytes / cpu, 200, 50)
    // half the CPU's rate needs a window of 300 KB and 100 ms round trips (twice the smallest): the delay rule and the
    // bandwidth-delay floor alone settle at about 0.37 of it (the floor follows the window down)
    expect(rate).to.be.at.least(0.5 * cpu)
  })

  it('a larger window that only queues (a bottleneck link) is given up again (injected clock)', () => {
    // 50 ms of path and a 4,000 B/ms bottleneck: bytes beyond its 200 KB bandwidth-delay product queue
    const bdp = 50 * 4000
    const { rate, window } = run(bytes => 50 + Math.max(0, bytes - bdp) / 4000, 400, 100)
    expect(rate).to.be.at.least(0.9 * 4000)
    expect(window).to.be.at.most(2 * bdp)
  })

  it('while high messages flow, the window is held at 1.25 measured bandwidth-delay products, so a high one waits behind less (injected clock)', () => {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    // a 50 ms path that delivers 4,000 B/ms whatever the window: rounds of a whole window grow it past the bandwidth-delay product
    for (let round = 0; round < 10; round++) {
      while (flow.open()) { flow.sent(10_240) }
      const inFlight = flow.unacked
      now += Math.max(50, inFlight / 4000)
      flow.acked(inFlight / 10_240)
    }
    const bdp = 50 * 4000
    expect(flow.window).to.be.greaterThan(1.3 * bdp)

    // a high message goes out: low frames fill at most about 1.25 bandwidth-delay products (FLOW_HIGH_HOLD_GAIN)
    flow.highSent()
    while (flow.open()) { flow.sent(10_240) }
    expect(flow.unacked).to.be.at.most(1.25 * bdp + 10_240)
    expect(flow.unacked).to.be.at.least(bdp * 0.9)
    // the high frames themselves still have the headroom
    expect(flow.open(true)).to.equal(true)
    const held = flow.unacked
    now += 50
    flow.acked(held / 10_240)

    // no high message for a while: the whole window again
    now += 1000
    while (flow.open()) { flow.sent(10_240) }
    expect(flow.unacked).to.be.greaterThan(1.3 * bdp)
  })
  it('the hold for high messages does not let the window grow past what it holds: once high messages pause, the low flood does not burst a whole grown window ahead of the next one (injected clock)', () => {
    // a FIFO bottleneck of 4,000 B/ms and 25 ms each way (a 200 KB bandwidth-delay product); the low flood always has more
    const rate = 4000
    const owd = 25
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    let linkFree = 0
    const acks: Array<{ t: number, high: boolean, at: number }> = []
    const send = (bytes: number, high: boolean): void => {
      flow.sent(bytes)
      linkFree = Math.max(now, linkFree) + bytes / rate
      acks.push({ t: linkFree + 2 * owd, high, at: now })
    }
    // high messages every 20 ms for 5 s, then none for 250 ms (longer than the hold), then one
    const highs: number[] = []
    for (let t = 2000; t < 7000; t += 20) { highs.push(t) }
    const last = 7250
    highs.push(last)
    let waited = -1

    while (now < last + 1000) {
      while (flow.open()) { send(10_240, false) }
      const next = Math.min(acks[0]?.t ?? Infinity, highs[0] ?? Infinity)
      now = next

      if (next === highs[0]) {
        highs.shift()
        expect(flow.open(true)).to.equal(true)
        send(200, true)
        flow.highSent()
        continue
      }

      let count = 0
      while (acks.length > 0 && acks[0].t <= now) {
        const ack = acks.shift()
        count++
        if (ack?.high === true && ack.at === last) { waited = now - ack.at - owd }
      }
      flow.acked(count)
    }

    // the last high message waited behind about the window the delay rule keeps (1.25 bandwidth-delay products and
    // some queue), not behind the whole 1 MiB the window grew to while the hold kept the queue away
    expect(waited).to.be.greaterThan(0)
    expect(waited).to.be.at.most(4 * owd)
  })
  it('a frame of high messages alone does not wait for an ack after the window shrank below the bytes in flight (injected clock)', () => {
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    // a 10 ms round trip, then 14 ms ones (within the delay accepted): the window doubles to its maximum, above the
    // bandwidth-delay floor, and a low flood fills it
    for (let round = 0; round < 4; round++) {
      while (flow.open()) { flow.sent(10_240) }
      now += round === 0 ? 10 : 14
      flow.acked(flow.unacked / 10_240)
    }
    while (flow.open()) { flow.sent(10_240) }
    const full = flow.window
    // a queue builds: a 40 ms round trip shrinks the window by a fifth, below the bytes still in flight
    now += 40
    flow.acked(1)
    expect(flow.window).to.be.lessThan(full)
    expect(flow.unacked).to.be.greaterThan(flow.window + 16 * 1024)
    expect(flow.open()).to.equal(false)

    // high frames alone still have their headroom (16 KiB of their own in flight), and no more
    expect(flow.open(true)).to.equal(true)
    flow.sent(8 * 1024, true)
    expect(flow.open(true)).to.equal(true)
    flow.sent(8 * 1024, true)
    expect(flow.open(true)).to.equal(false)
    // acknowledged, their bytes free the headroom again
    now += 40
    flow.acked((flow.unacked - 16 * 1024) / 10_240 + 1)
    expect(flow.open(true)).to.equal(true)
  })
  it('while high messages trickle, acks that come late by up to half the smallest round trip (a busy event loop) do not ratchet the low flood down (injected clock)', () => {
    // a FIFO bottleneck of 4,000 B/ms, 25 ms each way; every ack comes 0-25 ms late (in order); a high message every 20 ms
    const rate = 4000
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    let linkFree = 0
    let lastAck = 0
    let seed = 42
    const jitter = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return 25 * seed / 2147483648 }
    const acks: Array<{ t: number, bytes: number }> = []
    const send = (bytes: number, highOnly: boolean): void => {
      flow.sent(bytes, highOnly)
      linkFree = Math.max(now, linkFree) + bytes / rate
      lastAck = Math.max(lastAck, linkFree + 50 + jitter())
      acks.push({ t: lastAck, bytes })
    }
    let nextHigh = 0
    let delivered = 0
    let deliveredAt10s = 0

    while (now < 30_000) {
      while (flow.open()) { send(10_240, false) }
      now = Math.min(acks[0]?.t ?? Infinity, nextHigh)

      if (now === nextHigh) {
        if (flow.open(true)) {
          send(200, true)
          flow.highSent()
        }
        nextHigh += 20
        continue
      }

      let count = 0
      while (acks.length > 0 && acks[0].t <= now) {
        delivered += acks.shift()?.bytes ?? 0
        count++
      }
      flow.acked(count)

      if (now < 10_000) { deliveredAt10s = delivered }
    }

    // the link stays nearly full after the first 10 s (the hold at exactly one measured bandwidth-delay product
    // delivered about a quarter of it: late acks lower each rate sample, and the highest one expired to a low one)
    expect((delivered - deliveredAt10s) / (now - 10_000)).to.be.at.least(0.8 * rate)
  })
  it('frames written in one long turn of the sender\'s event loop and acknowledged together do not inflate the delivery rate, so the hold for high messages stays near the path\'s bandwidth-delay product (injected clock)', () => {
    // each turn the sender writes up to 16 frames, 1.25 ms apart (encoding them takes the turn), and the acceptor
    // acknowledges all of them in one ACK 2 ms after the last: the path delivers a turn's bytes per turn, not
    // the turn's bytes in the 2 ms between the last write and the ACK
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    let pathRate = 0

    for (let turn = 0; turn < 40; turn++) {
      const start = now
      let frames = 0
      while (frames < 16 && flow.open()) {
        if (frames > 0) { now += 1.25 }
        flow.sent(10_240)
        frames++
      }
      now += 2
      pathRate = Math.max(pathRate, frames * 10_240 / (now - start))
      flow.acked(frames)
      now += 0.5
    }

    // the highest delivery rate measured is about what the path delivered (under 8 KB/ms here; a turn's first frame
    // has no send interval of its own), not 8 frames in 1 ms or 16 in 2 ms (82 KB/ms)
    expect(flow.maxRate).to.be.at.most(1.2 * pathRate)
    // so while a high message flows, low frames fill about 1.25 bandwidth-delay products, not a whole turn's burst
    flow.highSent()
    while (flow.open()) { flow.sent(10_240) }
    expect(flow.unacked).to.be.at.most(Math.max(16 * 1024, 1.25 * 1.2 * pathRate * flow.minRtt) + 10_240)
  })

  it('after the sender was idle with nothing in flight, a rate sample\'s send interval starts at its next write, not at a frame written before the pause (injected clock)', () => {
    // a path that acknowledges a burst of 4 frames (written 1 ms apart) 10 ms after its last one
    let now = 0
    const flow = new FlowWindow(1 << 20, () => now)
    const burst = (): void => {
      for (let i = 0; i < 4; i++) {
        if (i > 0) { now += 1 }
        flow.sent(10_240)
      }
      now += 10
      flow.acked(4)
    }

    for (let i = 0; i < 20; i++) { burst() }
    // idle for a second (the highest rate sample expires meanwhile), then the same burst again
    now += 1000
    burst()

    // the burst after the pause is delivered at least as fast as from its first write to its ACK, as before
    // it (a send interval reaching back over the pause would read about 0.05 KB/ms, and the hold for high
    // messages would fall to its floor)
    expect(flow.maxRate).to.be.at.least(4 * 10_240 / 13)
    flow.highSent()
    while (flow.open()) { flow.sent(10_240) }
    expect(flow.unacked).to.be.at.least(Math.floor(1.25 * 4 * 10_240 / 13 * flow.minRtt))
  })
})
