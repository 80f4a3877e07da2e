/**
 * The joining rules of the announcement schedule (see schedule.ts and
 * discovery.ts), under fake time: a StubPubSub records every publish with
 * its (fake) time, remotes announce through `pubsub.deliver`.
 *
 * Tests that need exact times stub `Math.random` with a constant: the
 * expected times are then computed with the schedule functions themselves,
 * fed the same constant.
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import {
  DEFAULT_INTERVAL, DEFAULT_JITTER, DEFAULT_TARGET_ANNOUNCEMENTS, MAX_WARMUP_INTERVALS, TOPIC, WARMUP_INTERVALS, YOUNG_PEER_INTERVALS
} from '../src/constants.ts'
import { PubSubPeerDiscovery } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { answerDelay, nextAnnouncementDelay, periodIntervals, warmupDelay } from '../src/schedule.ts'
import { announce, remotes } from './fixtures/remotes.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { Remote } from './fixtures/remotes.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'

const I = DEFAULT_INTERVAL
const J = DEFAULT_JITTER
const K = DEFAULT_TARGET_ANNOUNCEMENTS
const SCHEDULE = { interval: I, jitter: J, targetAnnouncements: K }
/** Shortest delay of the warm-up (and of the periodic timer pulled forward) */
const MIN_WARMUP = (1 - J) * I
const MAX_WARMUP = (1 + J) * I

/** Shortest periodic delay past the warm-up in a topic of `nodes` */
function minPeriodic (nodes: number): number {
  return 0.5 * (1 - J) * periodIntervals(nodes, K) * I
}

describe('joining rules (fake time)', () => {
  let clock: sinon.SinonFakeTimers
  let pubsub: StubPubSub
  let discovery: PubSubPeerDiscovery
  let events: TypedEventEmitter<any>
  let self: PeerId
  let startedAt: number
  let emitted: number

  async function create (init: PubSubPeerDiscoveryInit = {}): Promise<void> {
    events = new TypedEventEmitter()
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    const privateKey = await generateKeyPair('Ed25519')
    self = peerIdFromPrivateKey(privateKey)
    discovery = new PubSubPeerDiscovery({
      peerId: self,
      privateKey,
      peerStore: stubInterface<PeerStore>(),
      // every remote is connected to us: only connected peers are answered
      connectionManager: stubInterface<ConnectionManager>({ getConnections: () => [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] }),
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
      events,
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, init)
    emitted = 0
    discovery.addEventListener('peer', () => { emitted++ })
  }

  function start (): void {
    startedAt = Date.now()
    discovery.afterStart()
  }

  /** Publish times, ms since start */
  function times (): number[] {
    return pubsub.published.map(p => p.at - startedAt)
  }

  /** Publishes in (from, to], ms since start */
  function count (from: number, to: number): number {
    return times().filter(t => t > from && t <= to).length
  }

  /** Advances to the fake time `at` (ms since start), firing what is due */
  async function tickTo (at: number): Promise<void> {
    await clock.tickAsync(Math.max(0, startedAt + at - Date.now()))
  }

  /** Runs the timers one by one until something is published; the time of it, ms since start */
  async function nextPublish (): Promise<number> {
    const before = pubsub.published.length
    const limit = Date.now() + 20 * periodIntervals(1024, K) * I

    while (pubsub.published.length === before) {
      expect(Date.now()).to.be.below(limit, 'nothing was published')
      await clock.nextAsync()
    }

    return pubsub.published[before].at - startedAt
  }

  /**
   * A node past its warm-up in a topic of `crowd.length + 1` nodes; the
   * crowd re-announces every 5 intervals (they never expire, never count as
   * new again). Returns at a periodic publish, ms since start.
   */
  async function steady (crowd: Remote[]): Promise<number> {
    await create()
    start()
    for (const r of crowd) { announce(pubsub, r) }
    setInterval(() => { for (const r of crowd) { announce(pubsub, r) } }, 5 * I)
    await tickTo((MAX_WARMUP_INTERVALS + 1) * I)
    return nextPublish()
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    discovery?.stop()
    clock.restore()
    sinon.restore()
  })

  describe('newcomers', () => {
    it('answers a newcomer with one publish within half an interval', async () => {
      const crowd = await remotes(49)
      const [newcomer] = await remotes(1)
      const p = await steady(crowd)
      // the latest answer the spread allows
      sinon.stub(Math, 'random').returns(0.999)

      // long after our last announcement: the answer is spread over half an
      // interval (and the next periodic one is at least minPeriodic away)
      const heard = p + 0.6 * I
      expect(minPeriodic(50)).to.be.above(heard + 0.5 * I - p)
      await tickTo(heard)
      expect(count(p, heard)).to.equal(0)
      announce(pubsub, newcomer)
      await tickTo(heard + 0.5 * I)
      expect(count(heard, heard + 0.5 * I)).to.equal(1)

      const answer = Peer.decode(pubsub.published[pubsub.published.length - 1].data)
      expect(answer.publicKey).to.equalBytes(publicKeyToProtobuf(self.publicKey!))
    })

    it('answers many newcomers heard within half an interval with one publish', async () => {
      await create()
      start()
      expect(times()).to.deep.equal([0])
      const newcomers = await remotes(20)

      // heard right after the start announcement: the answer waits half an
      // interval after it, and answers all twenty
      for (let i = 0; i < newcomers.length; i++) {
        await tickTo(i * (0.5 * I) / newcomers.length)
        announce(pubsub, newcomers[i])
      }
      expect(emitted).to.equal(newcomers.length)
      await tickTo(0.5 * I)
      expect(count(0, 0.5 * I)).to.equal(1)

      // and nothing more until the warm-up announcement an interval after start
      await tickTo(MIN_WARMUP - 1)
      expect(count(0, MIN_WARMUP - 1)).to.equal(1)
    })

    it('cancels a pending answer when the periodic announcement goes out first', async () => {
      const R = 0.999
      sinon.stub(Math, 'random').returns(R)
      await create()
      start()
      const [newcomer] = await remotes(1)
      const periodic = warmupDelay(SCHEDULE, () => R)
      const answerAfter = answerDelay(SCHEDULE, () => R)

      // heard shortly before the first periodic announcement: the answer would
      // be due after it
      const heard = periodic - 0.1 * I
      expect(heard + answerAfter).to.be.above(periodic)
      await tickTo(heard)
      announce(pubsub, newcomer)

      await tickTo(heard + answerAfter + 1)
      expect(times()).to.deep.equal([0, periodic])
      // the next is the periodic one, one (warm-up) interval later
      expect(await nextPublish()).to.equal(2 * periodic)
    })

    it('follows its answer to a newcomer up an interval later, not a whole period later', async () => {
      const crowd = await remotes(49)
      const [newcomer] = await remotes(1)
      const p = await steady(crowd)
      // the period in a topic of 51 is 9 intervals: the next periodic
      // announcement is due 4 intervals or more after p
      expect(minPeriodic(51)).to.be.at.least(4 * I)

      announce(pubsub, newcomer)
      await tickTo(p + 3 * I)
      // the answer, half an interval after our last announcement
      expect(count(p, p + 0.5 * I)).to.equal(1)
      // the follow-up about an interval after the join, no sooner than an
      // interval after the answer (one answer per interval)
      expect(count(p + 0.5 * I, p + 1.5 * I - 1)).to.equal(0)
      expect(count(p + 1.5 * I - 1, p + 1.5 * I + I / 8)).to.equal(1)
      // then back to the slow rhythm
      expect(count(p + 1.5 * I + I / 8, p + 3 * I)).to.equal(0)
    })
  })

  describe('young and old peers', () => {
    it('answers a young peer announcing again at most once an interval, and stops when it is old', async () => {
      const crowd = await remotes(49)
      const [young] = await remotes(1)
      const p = await steady(crowd)
      expect(minPeriodic(51)).to.be.at.least(4 * I)

      // first heard at p, then announcing four times an interval (the rate
      // limit's default) for 12 intervals
      announce(pubsub, young)
      for (let t = I / 4; t <= 12 * I; t += I / 4) {
        await tickTo(p + t)
        announce(pubsub, young)
      }

      // up to p + 1.1 intervals: the newcomer answer and the pulled-forward
      // periodic announcement (previous test); after it, the next periodic
      // announcement is at least minPeriodic away, so what is published
      // until the peer is old answers it
      const youngUntil = p + (YOUNG_PEER_INTERVALS + 1 + J) * I
      const answers = times().filter(t => t > p + MAX_WARMUP && t <= youngUntil)
      expect(answers.length).to.be.within(1, YOUNG_PEER_INTERVALS)
      const last = times().filter(t => t <= p + MAX_WARMUP).pop() ?? 0
      for (const [i, t] of answers.entries()) {
        expect(t - (i === 0 ? last : answers[i - 1])).to.be.at.least(I)
      }

      // old: its announcements (4 an interval) are no longer answered; only
      // periodic announcements remain
      const window = 12 * I - (youngUntil - p)
      expect(count(youngUntil, p + 12 * I)).to.be.at.most(Math.floor(window / minPeriodic(51)) + 1)
    })

    it('does not answer an old peer announcing again', async () => {
      const crowd = await remotes(49)
      const p = await steady(crowd)
      const old = crowd[0]

      for (let t = I / 4; t <= 9 * I; t += I / 4) {
        await tickTo(p + t)
        announce(pubsub, old, 4001)
      }

      // 36 announcements heard: only periodic publishes, spaced by minPeriodic
      expect(count(p, p + 9 * I)).to.be.at.most(Math.floor(9 * I / minPeriodic(50)))
    })
  })

  describe('warm-up', () => {
    it('announces every interval for WARMUP_INTERVALS intervals, then slows down', async () => {
      await create()
      start()
      const crowd = await remotes(49)
      await tickTo(1)
      for (const r of crowd) { announce(pubsub, r) }

      await tickTo((WARMUP_INTERVALS + 4) * I)
      const warm = times().filter(t => t <= WARMUP_INTERVALS * I)
      expect(warm.length).to.be.at.least(WARMUP_INTERVALS)
      for (let i = 1; i < warm.length; i++) {
        expect(warm[i] - warm[i - 1]).to.be.at.most(MAX_WARMUP)
      }
      expect(WARMUP_INTERVALS * I - warm[warm.length - 1]).to.be.at.most(MAX_WARMUP)

      // the last warm-up announcement is scheduled before WARMUP_INTERVALS
      // intervals; the one after it waits at least minPeriodic (here 4.05
      // intervals): silence from then on, where warm-up would announce 3 times
      const lastWarm = (WARMUP_INTERVALS * I) + MAX_WARMUP
      expect(lastWarm + minPeriodic(50)).to.be.above((WARMUP_INTERVALS + 4) * I)
      expect(count(lastWarm, (WARMUP_INTERVALS + 4) * I)).to.equal(0)
    })

    it('keeps announcing every interval while new peers keep arriving, up to MAX_WARMUP_INTERVALS', async () => {
      const R = 0.999
      const newcomers = await remotes(2 * MAX_WARMUP_INTERVALS)
      sinon.stub(Math, 'random').returns(R)
      await create()
      start()
      const W = warmupDelay(SCHEDULE, () => R)
      const A = answerDelay(SCHEDULE, () => R)
      const before = 0.01 * I

      // one new peer heard shortly before each periodic announcement: its
      // answer would be due after that announcement, which cancels it, and
      // pulling the periodic timer forward changes nothing; so what goes out
      // is the warm-up rhythm alone, one announcement every W
      let next = 0
      const heard = (): void => { announce(pubsub, newcomers[next++]) }
      for (let k = 1; (k - 1) * W < MAX_WARMUP_INTERVALS * I; k++) {
        await tickTo(k * W - before)
        heard()
      }
      const last = next * W
      expect(last).to.be.above((WARMUP_INTERVALS + 1) * I)

      // after MAX_WARMUP_INTERVALS the warm-up rhythm stops though new peers
      // still arrive: the next one is answered (and pulls the periodic timer
      // forward) instead of being met by an announcement at (next + 1) * W
      await tickTo(last + W - before)
      heard()
      await tickTo(last + W + A)

      const expected = [0]
      for (let k = 1; k * W <= last; k++) { expected.push(k * W) }
      expected.push(last + W - before + A)
      expect(times()).to.deep.equal(expected)
      // (the periodic timer set at `last` was due later than the pulled-forward one)
      expect(nextAnnouncementDelay(next + 1, SCHEDULE, () => R)).to.be.above(2 * W - before)
    })

    function announcesEveryPeriod (peers: number): () => Promise<void> {
      return async () => {
        const crowd = await remotes(peers)
        await steady(crowd)
        const from = Date.now() - startedAt
        const intervals = 600

        await clock.tickAsync(intervals * I)
        const period = periodIntervals(peers + 1, K)
        expect(period).to.equal(Math.ceil((peers + 1) / K))
        const expected = intervals / period
        // a delay is uniform over half to one and a half periods: the count's
        // standard deviation is about 3% of it here
        expect(count(from, from + intervals * I)).to.be.within(0.85 * expected, 1.15 * expected)
      }
    }

    for (const peers of [12, 30]) {
      it(`announces about every ceil(N / targetAnnouncements) intervals afterwards (N = ${peers + 1})`, announcesEveryPeriod(peers))
    }
  })

  describe('bounds', () => {
    /**
     * A new peer every 100 ms for 20 intervals from our start (warm-up,
     * its extension and its cap included); publish times, ms since start
     */
    async function storm (random?: number): Promise<number[]> {
      const newcomers = await remotes(20 * I / 100)
      await create()
      if (random != null) {
        sinon.stub(Math, 'random').returns(random)
      }
      start()
      for (let i = 0; i < newcomers.length; i++) {
        await tickTo(i * 100)
        announce(pubsub, newcomers[i])
      }
      await tickTo(20 * I)
      expect(emitted).to.equal(newcomers.length)
      return times()
    }

    /** Most publishes in any window [t, t + length) */
    function densest (ts: number[], length: number): number {
      return Math.max(...ts.map(t => ts.filter(u => u >= t && u < t + length).length))
    }

    // What the code guarantees (our own addresses unchanged): any two
    // publishes are at least half an interval apart, whatever their kind
    // (an answer is due no sooner than half an interval after the previous
    // publish, and a periodic timer firing sooner waits for that), so at
    // most 2 in any one interval
    it('publishes at most 2 in any one interval, whatever arrives', async () => {
      const ts = await storm()
      expect(densest(ts, I)).to.be.at.most(2)
      // the start announcement, then 2 per interval at most
      expect(ts.length).to.be.at.most(1 + 2 * 20)
    })

    it('publishes at most 2 in any one interval with unlucky randomness', async () => {
      // random() = 0.75: warm-up and pulled-forward delays of 1.05
      // intervals; without the spacing two answers would fit between two
      // periodic publishes (3 every 1.05 intervals)
      const ts = await storm(0.75)
      expect(densest(ts, I)).to.be.at.most(2)
      const steadyPart = ts.filter(t => t >= 2 * I)
      // 18 intervals, half an interval apart, both ends included
      expect(steadyPart.length).to.be.at.most(2 * 18 + 1)
    })

    // answers to a young peer and to newcomers share one message, at
    // most one an interval
    it('answers a young peer and a newcomer with one message, at most one answer an interval', async () => {
      const crowd = await remotes(49)
      const [young, newcomer] = await remotes(2)
      const p = await steady(crowd)
      announce(pubsub, young)
      const answered = await nextPublish() // the answer to it

      // the young peer again, and a newcomer: one answer, an interval after the last
      await tickTo(answered + 1)
      announce(pubsub, young)
      announce(pubsub, newcomer)
      await tickTo(answered + 2 * I)
      expect(count(answered, answered + I - 1)).to.equal(0)
      expect(count(answered + I - 1, answered + I + I / 8)).to.equal(1)
      expect(answered - p).to.be.below(I)
    })
  })

  describe('listenOnly', () => {
    it('never publishes, whatever it hears', async () => {
      await create({ listenOnly: true })
      start()
      const peers = await remotes(50)

      // newcomers, young peers again, returning and changed addresses, our
      // own addresses changing, a first subscriber
      for (let i = 0; i < 20 * 4; i++) {
        await tickTo(i * I / 4)
        if (i < peers.length) {
          announce(pubsub, peers[i])
        }
        announce(pubsub, peers[i % 10], 4001 + (i % 3))
        events.safeDispatchEvent('self:peer:update', {
          detail: {
            peer: { addresses: [{ multiaddr: multiaddr(`/ip4/10.0.0.9/tcp/${5000 + i}`) }] },
            previous: { addresses: [{ multiaddr: multiaddr(`/ip4/10.0.0.9/tcp/${4999 + i}`) }] }
          }
        })
        pubsub.safeDispatchEvent('subscription-change', { detail: { peerId: peers[i % 50].id, subscriptions: [{ topic: TOPIC, subscribe: true }] } })
      }
      await tickTo(40 * I)

      expect(emitted).to.be.at.least(peers.length)
      expect(pubsub.published).to.have.lengthOf(0)
    })
  })
})
