import { expect } from 'aegir/chai'
import { nextAnnouncementDelay, peerTtl, periodIntervals } from '../src/schedule.ts'

const options = { interval: 10_000, jitter: 0.1, targetAnnouncements: 6 }

describe('announcement schedule', () => {
  it('announces every interval in small topics and every ceil(N/K) intervals in large ones', () => {
    expect(periodIntervals(2, 6)).to.equal(1)
    expect(periodIntervals(6, 6)).to.equal(1)
    expect(periodIntervals(7, 6)).to.equal(2)
    expect(periodIntervals(50, 6)).to.equal(9)
    expect(periodIntervals(1000, 6)).to.equal(167)
  })

  it('caps the period, and so the delay and the ttl, at maxPeriod intervals', () => {
    expect(periodIntervals(1000, 6, 32)).to.equal(32)
    expect(periodIntervals(50, 6, 32)).to.equal(9)
    const capped = { ...options, maxPeriod: 32 }
    for (let i = 0; i < 200; i++) {
      expect(nextAnnouncementDelay(1000, capped)).to.be.at.most(1.5 * 1.1 * 32 * options.interval)
    }
    expect(peerTtl(1000, capped, 4)).to.equal(4 * 32 * options.interval)
  })

  it('keeps the announcements per interval of the whole topic near K as N grows', () => {
    for (const nodes of [10, 50, 200, 1000]) {
      // expected announcements per interval: each node once per mean delay
      let total = 0
      const samples = 2_000
      for (let i = 0; i < samples; i++) {
        total += nextAnnouncementDelay(nodes, options)
      }
      const meanDelayIntervals = total / samples / options.interval
      const perInterval = nodes / meanDelayIntervals
      expect(perInterval, `N=${nodes}`).to.be.within(options.targetAnnouncements * 0.75, options.targetAnnouncements * 1.7)
    }
  })

  it('bounds each delay within half to one and a half periods, jitter included', () => {
    const period = periodIntervals(50, 6) * options.interval
    expect(nextAnnouncementDelay(50, options, () => 0)).to.equal(Math.round(period * 0.5 * 0.9))
    expect(nextAnnouncementDelay(50, options, () => 0.999999)).to.be.at.most(Math.round(period * 1.5 * 1.1))
  })

  it('keeps a peer alive for several of its periods, longer than its longest gap', () => {
    const longestGap = periodIntervals(50, 6) * options.interval * 1.5 * 1.1
    expect(peerTtl(50, options, 4)).to.be.greaterThan(longestGap * 2)
  })
})
