import { expect } from 'aegir/chai'
import { TokenBucket, burstFor, grantFor } from '../src/token-bucket.ts'

describe('token bucket', () => {
  it('starts full and refills at its rate up to the burst', () => {
    const bucket = new TokenBucket(1000, 100, 0)
    expect(bucket.tokens).to.equal(100)
    bucket.take(100, 0)
    expect(bucket.ready(0)).to.be.true()
    bucket.take(50, 0)
    expect(bucket.ready(0)).to.be.false()
    expect(bucket.wait(0)).to.equal(50)
    expect(bucket.ready(50)).to.be.true()
    bucket.refill(10_000)
    expect(bucket.tokens).to.equal(100)
  })

  it('holds the long-run rate whatever the grant size (debt)', () => {
    const bucket = new TokenBucket(10_000, 100, 0)
    let now = 0
    let taken = 0

    while (now < 10_000) {
      if (bucket.ready(now)) {
        bucket.take(777, now)
        taken += 777
      } else {
        now += Math.ceil(bucket.wait(now))
      }
    }

    // 10 s at 10 kB/s, plus at most the burst and one grant
    expect(taken).to.be.within(100_000, 100_000 + 100 + 777)
  })

  it('a late timer does not cost rate while the bucket is in use; an idle bucket keeps only its burst', () => {
    const bucket = new TokenBucket(100_000, 1000, 0, 50)
    let now = 0
    let taken = 0

    // every wait overshoots by 30 ms, as on a busy event loop
    while (now < 10_000) {
      if (bucket.ready(now)) {
        bucket.take(1000, now)
        taken += 1000
      } else {
        now += Math.ceil(bucket.wait(now)) + 30
      }
    }

    expect(taken).to.be.within(1_000_000 - 2000, 1_000_000 + 7_000)
    bucket.refill(20_000)
    expect(bucket.tokens).to.equal(1000)
    // without catch-up, the same late timers cost rate
    const strict = new TokenBucket(100_000, 1000, 0)
    now = 0
    taken = 0

    while (now < 10_000) {
      if (strict.ready(now)) {
        strict.take(1000, now)
        taken += 1000
      } else {
        now += Math.ceil(strict.wait(now)) + 30
      }
    }

    expect(taken).to.be.at.most(500_000)
  })

  it('never limits at an infinite rate', () => {
    const bucket = new TokenBucket(Infinity, Infinity, 0)
    bucket.take(1e12, 0)
    expect(bucket.ready(0)).to.be.true()
    expect(bucket.wait(0)).to.equal(0)
  })

  it('changes rate without a burst larger than the new one', () => {
    const bucket = new TokenBucket(Infinity, Infinity, 0)
    bucket.setRate(1000, 10, 0)
    expect(bucket.tokens).to.equal(10)
    bucket.take(20, 0)
    expect(bucket.wait(0)).to.equal(10)
  })

  it('sizes grants and bursts from the rate, within bounds', () => {
    expect(grantFor(1_000_000, 4, 1024, 65536)).to.equal(4000)
    expect(grantFor(1000, 4, 1024, 65536)).to.equal(1024)
    expect(grantFor(Infinity, 4, 1024, 65536)).to.equal(65536)
    expect(burstFor(1_000_000, 10, 4000)).to.equal(10_000)
    expect(burstFor(1000, 10, 1024)).to.equal(1024)
  })
})
