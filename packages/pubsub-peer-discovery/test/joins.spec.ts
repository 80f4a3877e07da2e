/**
 * The join coordinator's states (PROTOCOL.md S4-S7, X1-X3), on its own,
 * under fake time.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { Joins } from '../src/joins.ts'
import type { Heard } from '../src/joins.ts'
import type { PeerId } from '@libp2p/interface'

const I = 10_000
const JOINER: Heard = { verdict: 'new', connected: true, readsRecords: true, age: 0 }

describe('join coordinator', () => {
  let clock: sinon.SinonFakeTimers
  let joins: Joins
  let answers: number[]
  let lastAnnounced: number
  let peers: PeerId[]
  /** Whether an announcement goes out (false: no subscriber yet) */
  let reachable: boolean

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    sinon.stub(Math, 'random').returns(0.5)
    answers = []
    reachable = true
    lastAnnounced = 0
    joins = new Joins({ interval: I, jitter: 0.1, targetAnnouncements: 6 }, {
      answer: () => {
        if (!reachable) {
          return false
        }
        answers.push(Date.now())
        lastAnnounced = Date.now()
        joins.announced(1, Date.now())
        return true
      },
      lastAnnounced: () => lastAnnounced
    })
    joins.start()
    peers = await Promise.all([1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })

  afterEach(() => {
    joins.stop()
    sinon.restore()
  })

  it('goes idle -> answer-due -> follow-up-due -> idle for one joiner connected to us', async () => {
    expect(joins.current).to.equal('idle')
    expect(joins.heard(peers[0], JOINER, Date.now())).to.be.true()
    expect(joins.current).to.equal('answer-due')

    await clock.tickAsync(I / 8)
    expect(answers).to.have.lengthOf(1)
    expect(joins.current).to.equal('follow-up-due')

    await clock.tickAsync(2 * I)
    expect(answers).to.have.lengthOf(2)
    expect(answers[1] - answers[0]).to.be.at.least(I)
    expect(joins.current).to.equal('idle')
  })

  it('answers several joiners with one message, and at most one an interval', async () => {
    for (const p of peers) { joins.heard(p, JOINER, Date.now()) }
    await clock.tickAsync(I / 8)
    expect(answers).to.have.lengthOf(1)

    // more joiners right after: the next answer waits an interval
    joins.heard(peers[0], { ...JOINER, verdict: 'returned' }, Date.now())
    await clock.tickAsync(I - I / 8 - 1)
    expect(answers).to.have.lengthOf(1)
    await clock.tickAsync(I / 8 + 1)
    expect(answers).to.have.lengthOf(2)
  })

  it('an answer that reached nobody (no subscriber yet) is still owed, and the next announcement of ours answers it (S1, S4)', async () => {
    reachable = false
    joins.heard(peers[0], JOINER, Date.now())
    await clock.tickAsync(I / 8)
    expect(answers).to.be.empty()
    expect(joins.current).to.equal('answer-due')

    // the first subscriber appears: our announcement answers the joiner,
    // and its follow-up is due
    reachable = true
    lastAnnounced = Date.now()
    joins.announced(1, Date.now())
    expect(joins.current).to.equal('follow-up-due')

    // and a joiner heard now is answered half an interval after that
    // announcement, not an interval after the answer that reached nobody
    joins.heard(peers[1], JOINER, Date.now())
    await clock.tickAsync(I / 2 + I / 8)
    expect(answers).to.have.lengthOf(1)
  })

  it('stays idle for peers not connected to us, known peers and changed addresses', () => {
    expect(joins.heard(peers[0], { ...JOINER, connected: false }, Date.now())).to.be.true()
    expect(joins.heard(peers[1], { ...JOINER, verdict: 'known' }, Date.now())).to.be.false()
    expect(joins.heard(peers[2], { ...JOINER, verdict: 'changed' }, Date.now())).to.be.false()
    expect(joins.current).to.equal('idle')
    expect(joins.carriesRecords(Date.now())).to.be.false()
  })

  it('another announcement after the answer serves as the follow-up', async () => {
    joins.heard(peers[0], JOINER, Date.now())
    await clock.tickAsync(I / 8)
    expect(joins.current).to.equal('follow-up-due')
    joins.announced(0, Date.now())
    expect(joins.current).to.equal('idle')
    await clock.tickAsync(3 * I)
    expect(answers).to.have.lengthOf(1)
  })

  it('carries records for the two announcements after a join, within the join window', async () => {
    joins.heard(peers[0], JOINER, Date.now())
    expect(joins.carriesRecords(Date.now())).to.be.true()
    joins.announced(3, Date.now())
    expect(joins.carriesRecords(Date.now())).to.be.true()
    // an announcement without records (none to relay) does not use one up
    joins.announced(0, Date.now())
    expect(joins.carriesRecords(Date.now())).to.be.true()
    joins.announced(3, Date.now())
    expect(joins.carriesRecords(Date.now())).to.be.false()

    // the next join: records again, until the window closes
    joins.heard(peers[1], JOINER, Date.now())
    expect(joins.carriesRecords(Date.now())).to.be.true()
    await clock.tickAsync(3 * I)
    expect(joins.carriesRecords(Date.now())).to.be.false()
  })
})
