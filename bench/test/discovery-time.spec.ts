/**
 * How the swarm bench reads full discovery from the workers' records: the
 * latest first-learned time over every node, from a common start.
 */
import { expect } from 'aegir/chai'
import { discoveryTime, epochNow } from '../discovery/discovery-time.ts'

const START = 1_000_000

describe('swarm bench: discovery time', () => {
  it('is the latest first-learned time of any node, from the start', () => {
    expect(discoveryTime(START, [
      { index: 0, missing: 0, latest: START + 1200 },
      { index: 1, missing: 0, latest: START + 16_600 },
      { index: 2, missing: 0, latest: START + 900 }
    ])).to.equal(16_600)
  })

  it('is never reached while any node misses a peer', () => {
    expect(discoveryTime(START, [
      { index: 0, missing: 0, latest: START + 1200 },
      { index: 1, missing: 1, latest: START + 1500 }
    ])).to.be.NaN()
  })

  it('is not reached when a node has learned nothing, or no node reported', () => {
    expect(discoveryTime(START, [{ index: 0, missing: 0, latest: NaN }])).to.be.NaN()
    expect(discoveryTime(START, [])).to.be.NaN()
  })

  it('is never negative', () => {
    expect(discoveryTime(START, [{ index: 0, missing: 0, latest: START - 5 }])).to.equal(0)
  })

  it('reads a clock that another process shares: ms since the epoch', () => {
    const before = Date.now()
    const now = epochNow()
    expect(now).to.be.within(before - 50, Date.now() + 50)
  })
})
