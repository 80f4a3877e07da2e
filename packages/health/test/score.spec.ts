import { expect } from 'aegir/chai'
import { ByteCounter } from '../src/bytes.ts'
import { resolveOptions, resolveWeights } from '../src/options.ts'
import { RttTracker } from '../src/rtt.ts'
import { latencyComponent, score, stabilityComponent, successComponent } from '../src/score.ts'

const thresholds = { maxPingLatency: 200, minPingSuccessRate: 0.8, maxFailedStreams: 10 }
const weights = resolveWeights()

describe('score', () => {
  it('puts each component at exactly 0.5 on its threshold', () => {
    expect(latencyComponent(200, 200)).to.equal(0.5)
    expect(successComponent(0.8, 0.8)).to.equal(0.5)
    expect(stabilityComponent(10, 10)).to.equal(0.5)
    expect(stabilityComponent(20, 10)).to.equal(0)
  })

  it('is 1 for a perfect connection and falls with latency, losses and failures', () => {
    expect(score({ rtt: 0, successRate: 1, recentFailures: 0 }, thresholds, weights).score).to.equal(1)
    const slow = score({ rtt: 150, successRate: 1, recentFailures: 0 }, thresholds, weights).score
    const lossy = score({ rtt: 10, successRate: 0.85, recentFailures: 0 }, thresholds, weights).score
    expect(slow).to.be.below(1)
    expect(lossy).to.be.below(1)
  })

  it('caps the score at any breached component', () => {
    // 3x the latency threshold: latency component 0 caps the score at 0
    expect(score({ rtt: 600, successRate: 1, recentFailures: 0 }, thresholds, weights).score).to.equal(0)
    // a connection just over its latency threshold scores just under 0.5
    expect(score({ rtt: 220, successRate: 1, recentFailures: 0 }, thresholds, weights).score).to.be.below(0.5)
  })

  it('normalises weights and rejects invalid ones by name', () => {
    expect(resolveWeights({ latency: 2, successRate: 2, stability: 0 })).to.deep.equal({ latency: 0.5, successRate: 0.5, stability: 0 })
    expect(() => resolveWeights({ latency: -1 })).to.throw().with.property('name', 'InvalidHealthOptionError')
    expect(() => resolveWeights({ latency: 0, successRate: 0, stability: 0 })).to.throw().with.property('name', 'InvalidHealthOptionError')
    expect(() => resolveOptions({ minHealthThreshold: 1.5 })).to.throw().with.property('name', 'InvalidHealthOptionError')
    expect(() => resolveOptions({ unhealthyChecksBeforeReplace: 0 })).to.throw().with.property('name', 'InvalidHealthOptionError')
    expect(() => resolveOptions({ minTimeout: 5000, maxTimeout: 100 })).to.throw().with.property('name', 'InvalidHealthOptionError')
  })
})

describe('rtt', () => {
  it('tracks last, EWMA, min and percentiles over a bounded window', () => {
    const rtt = new RttTracker()
    for (let i = 1; i <= 100; i++) { rtt.add(i) }
    const summary = rtt.summary()!
    expect(summary.last).to.equal(100)
    expect(summary.min).to.equal(1)
    expect(summary.samples).to.equal(100)
    // the window keeps the last 64 samples: 37..100
    expect(summary.p50).to.equal(68)
    expect(summary.p95).to.equal(97)
    expect(summary.ewma).to.be.within(90, 100)
  })

  it('follows a lasting change within two probes and ignores one spike', () => {
    const rtt = new RttTracker()
    for (let i = 0; i < 10; i++) { rtt.add(10) }
    rtt.add(500)
    expect(rtt.recentMedian()).to.equal(10)
    rtt.add(10)
    rtt.add(210)
    rtt.add(210)
    expect(rtt.recentMedian()).to.equal(210)
  })

  it('gives an adaptive timeout of SRTT + 4 x RTTVAR within bounds', () => {
    const rtt = new RttTracker()
    expect(rtt.timeout(100, 5000, 5000)).to.equal(5000)
    for (let i = 0; i < 50; i++) { rtt.add(50) }
    expect(rtt.timeout(100, 5000, 5000)).to.equal(100) // 50 + 4 x ~0, raised to the minimum
    for (let i = 0; i < 50; i++) { rtt.add(i % 2 === 0 ? 100 : 900) }
    expect(rtt.timeout(100, 5000, 5000)).to.be.within(1000, 5000)
    for (let i = 0; i < 50; i++) { rtt.add(60_000) }
    expect(rtt.timeout(100, 5000, 5000)).to.equal(5000)
  })
})

describe('bytes', () => {
  it('reports rates over 10 s, 1 min and 5 min, and the peak second', () => {
    const bytes = new ByteCounter()
    const start = 1_000_000_000
    for (let s = 0; s < 300; s++) {
      bytes.add('in', 1000, start + s * 1000)
      bytes.add('out', 500, start + s * 1000)
    }
    bytes.add('in', 10_000, start + 299_500)
    const now = start + 299_999
    const rates = bytes.rates(now)
    expect(rates.in10s).to.equal((10 * 1000 + 10_000) / 10)
    // minute and five-minute windows use ten-second buckets
    expect(rates.out1m).to.be.closeTo(500, 500 * 0.17)
    expect(rates.in5m).to.be.closeTo((300 * 1000 + 10_000) / 300, 1100 * 0.04)
    expect(rates.peak).to.equal(11_500)
    expect(bytes.totalIn).to.equal(310_000)
  })
})
