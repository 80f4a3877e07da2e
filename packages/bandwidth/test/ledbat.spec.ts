import { expect } from 'aegir/chai'
import { Ledbat } from '../src/ledbat.ts'

const init = { targetDelay: 25, minRate: 10_000, maxRate: 10_000_000, initialRate: 100_000 }

describe('LEDBAT controller', () => {
  it('grows fast in slow start, slowly once the queuing delay has reached half the target', () => {
    const ledbat = new Ledbat(init)

    for (let i = 0; i < 2; i++) {
      ledbat.sample(10, i * 100, 1)
    }

    // 15 ms of queuing delay (off = 0.4): slow start ends, +1 % x 0.4 from now on
    ledbat.sample(25, 200, 1)
    ledbat.sample(25, 300, 1)
    expect(ledbat.slowStart).to.be.false()
    const before = ledbat.rate
    ledbat.sample(25, 400, 1)
    expect(ledbat.rate).to.be.closeTo(before * 1.004, 1e-6)
  })

  it('grows while the queuing delay is under the target and the rate is used', () => {
    const ledbat = new Ledbat(init)
    ledbat.sample(10, 0, 1)

    for (let i = 1; i <= 10; i++) {
      ledbat.sample(10, i * 100, 1)
    }

    // no queuing delay: +10 % a sample
    expect(ledbat.rate).to.be.closeTo(100_000 * Math.pow(1.1, 11), 1)
  })

  it('does not grow a rate the traffic does not use', () => {
    const ledbat = new Ledbat(init)

    for (let i = 0; i < 10; i++) {
      ledbat.sample(10, i * 100, 0.2)
    }

    expect(ledbat.rate).to.equal(100_000)
  })

  it('shrinks when the queuing delay is over the target, halving at most per sample, never below minRate', () => {
    const ledbat = new Ledbat(init)

    for (let i = 0; i < 4; i++) {
      ledbat.sample(10, i * 100, 1)
    }

    const before = ledbat.rate
    // 60 ms over a 10 ms base: the current filter needs 2 high samples
    for (let i = 4; i < 6; i++) {
      ledbat.sample(70, i * 100, 1)
    }

    expect(ledbat.queuingDelay).to.equal(60)
    // the first is filtered out (still +10 %, slow start), then off = (25 - 60) / 25 = -1.4: -7 %
    expect(ledbat.rate).to.be.closeTo(before * 1.1 * 0.93, 1)

    for (let i = 8; i < 40; i++) {
      ledbat.sample(500, i * 100, 1)
    }

    expect(ledbat.rate).to.equal(10_000)
  })

  it('ignores one late sample (minimum of the last 2)', () => {
    const ledbat = new Ledbat(init)

    for (let i = 0; i < 4; i++) {
      ledbat.sample(10, i * 100, 1)
    }

    const before = ledbat.rate
    ledbat.sample(300, 500, 1)
    expect(ledbat.queuingDelay).to.equal(0)
    expect(ledbat.rate).to.be.above(before)
  })

  it('takes a base RTT from elsewhere (health) and forgets old bases after 10 minutes', () => {
    const ledbat = new Ledbat(init)
    ledbat.offerBase(5, 0)

    for (let i = 0; i < 4; i++) {
      ledbat.sample(40, i * 100, 1)
    }

    expect(ledbat.baseDelay).to.equal(5)
    expect(ledbat.queuingDelay).to.equal(35)
    // 11 minutes of 40 ms samples: the 5 ms base has aged out
    for (let minute = 1; minute <= 11; minute++) {
      ledbat.sample(40, minute * 60_000, 1)
    }

    expect(ledbat.baseDelay).to.equal(40)
    expect(ledbat.queuingDelay).to.equal(0)
  })
})
