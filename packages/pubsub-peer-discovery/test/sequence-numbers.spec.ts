/**
 * The seqno tables (PROTOCOL.md R3): bounded, and a flood of fresh authors
 * cannot evict an established one (connected, or admitted twice) that is
 * still heard; a gone one makes room.
 */
import { expect } from 'aegir/chai'
import { SequenceNumbers } from '../src/sequence-numbers.ts'

const EXPIRY = 1_000

describe('sequence numbers', () => {
  it('a connected author is established at once, another one at its second admitted message', () => {
    const seqnos = new SequenceNumbers({ maxEstablished: 4, maxProbation: 4 })
    seqnos.admit('connected', 1n, 0, true, EXPIRY)
    seqnos.admit('fresh', 1n, 0, false, EXPIRY)
    expect(seqnos.size).to.deep.equal({ established: 1, probation: 1 })
    seqnos.admit('fresh', 2n, 0, false, EXPIRY)
    expect(seqnos.size).to.deep.equal({ established: 2, probation: 0 })
    expect(seqnos.fresh('fresh', 2n)).to.equal(false)
    expect(seqnos.fresh('fresh', 3n)).to.equal(true)
  })

  it('keeps both tables within their bounds; fresh authors churn only the probation table', () => {
    const seqnos = new SequenceNumbers({ maxEstablished: 4, maxProbation: 8 })
    for (let i = 0; i < 4; i++) {
      seqnos.admit(`kept${i}`, 5n, 0, true, EXPIRY)
    }

    for (let i = 0; i < 1000; i++) {
      seqnos.admit(`flood${i}`, 1n, 10, false, EXPIRY)
      seqnos.admit(`flood${i}`, 2n, 10, true, EXPIRY)
    }

    expect(seqnos.size).to.deep.equal({ established: 4, probation: 8 })
    for (let i = 0; i < 4; i++) {
      expect(seqnos.fresh(`kept${i}`, 5n)).to.equal(false)
    }
  })

  it('an established author not admitted for the expiry makes room for a newcomer', () => {
    const seqnos = new SequenceNumbers({ maxEstablished: 2, maxProbation: 2 })
    seqnos.admit('gone', 5n, 0, true, EXPIRY)
    seqnos.admit('alive', 5n, 0, true, EXPIRY)
    seqnos.admit('alive', 6n, EXPIRY, true, EXPIRY)
    seqnos.admit('newcomer', 1n, EXPIRY, true, EXPIRY)

    expect(seqnos.size).to.deep.equal({ established: 2, probation: 0 })
    expect(seqnos.fresh('alive', 6n)).to.equal(false)
    expect(seqnos.fresh('newcomer', 1n)).to.equal(false)
    expect(seqnos.fresh('gone', 5n)).to.equal(true)
  })

  it('never lowers an author\'s highest seqno', () => {
    const seqnos = new SequenceNumbers({ maxEstablished: 2, maxProbation: 2 })
    seqnos.admit('a', 9n, 0, false, EXPIRY)
    seqnos.admit('a', 3n, 0, false, EXPIRY)
    expect(seqnos.fresh('a', 9n)).to.equal(false)
    seqnos.admit('a', 4n, 0, false, EXPIRY)
    expect(seqnos.fresh('a', 9n)).to.equal(false)
  })
})
