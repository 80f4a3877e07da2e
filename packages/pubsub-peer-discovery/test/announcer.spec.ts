import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { PubSubPeerDiscovery, TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { announce, remotes } from './fixtures/remotes.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { Connection } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'

const INTERVAL = 10_000

describe('announcements (fake time)', () => {
  let clock: sinon.SinonFakeTimers
  let pubsub: StubPubSub
  let discovery: PubSubPeerDiscovery
  let emitted: string[]

  let events: TypedEventEmitter<any>

  async function create (init: PubSubPeerDiscoveryInit = {}): Promise<void> {
    events = new TypedEventEmitter()
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    discovery = new PubSubPeerDiscovery({
      peerId: self,
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
      // every remote is connected to us: only connected peers are answered
      connectionManager: stubInterface<ConnectionManager>({ getConnections: () => [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] }),
      events,
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, { interval: INTERVAL, ...init })
    emitted = []
    discovery.addEventListener('peer', (evt) => { emitted.push(evt.detail.id.toString()) })
  }

  /** Our addresses change (an announcement is debounced) */
  function addressesChanged (): void {
    events.safeDispatchEvent('self:peer:update', {
      detail: {
        peer: { addresses: [{ multiaddr: multiaddr('/ip4/10.0.0.9/tcp/4002') }] },
        previous: { addresses: [{ multiaddr: multiaddr('/ip4/10.0.0.9/tcp/4001') }] }
      }
    })
  }

  /** A joiner connected to us, heard 1 s after our start announcement, answered half an interval after that announcement */
  async function answerAJoinerAfterStart (): Promise<void> {
    await clock.tickAsync(1000)
    const [a] = await remotes(1)
    announce(pubsub, a)
    await clock.tickAsync(INTERVAL / 2 - 1000 + 100)
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    discovery?.stop()
    clock.restore()
  })

  it('announces at start, and emits peer only for new, changed or returning peers', async () => {
    await create()
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    const [a] = await remotes(1)
    announce(pubsub, a)
    announce(pubsub, a)
    expect(emitted).to.deep.equal([a.id.toString()])

    announce(pubsub, a, 4002)
    expect(emitted).to.have.lengthOf(2)
  })

  it('in a topic of 50 announces about once per ceil(50/6) intervals, not every interval', async () => {
    await create()
    discovery.afterStart()
    const peers = await remotes(49)
    const intervals = 90

    for (let i = 0; i < intervals; i++) {
      // every peer stays heard, as it would with its own slow schedule
      if (i % 5 === 0) {
        for (const p of peers) { announce(pubsub, p) }
      }
      await clock.tickAsync(INTERVAL)
    }

    const ours = pubsub.published.length
    // the official module would publish 90 times; the period is 9 intervals
    expect(ours).to.be.within(6, 20)
  })

  it('answers newcomers at most once an interval, however many arrive', async () => {
    await create()
    discovery.afterStart()
    const peers = await remotes(20)
    for (const p of peers.slice(0, 10)) { announce(pubsub, p) }
    await clock.tickAsync(INTERVAL)
    const before = pubsub.published.length

    for (const p of peers.slice(10)) { announce(pubsub, p) }
    await clock.tickAsync(INTERVAL)
    // one answer for ten newcomers (plus, at most, one periodic announcement
    // that happened to fall in the same interval)
    expect(pubsub.published.length - before).to.be.within(1, 2)
  })

  it('does not answer a newcomer again when another announcement went out first', async () => {
    await create()
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    // heard right after our start announcement: the answer waits half an interval
    const [a] = await remotes(1)
    announce(pubsub, a)

    // our addresses change: announced after the debounce (1 s), which answers `a` too
    addressesChanged()
    await clock.tickAsync(INTERVAL / 2 + 100)
    expect(pubsub.published).to.have.lengthOf(2)
  })

  it('skips a debounced announcement when another went out after it was asked for (S1)', async () => {
    await create({ announceDebounce: 6000 })
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    // our addresses change: an announcement is due in 6 s
    addressesChanged()
    // a joiner connected to us: answered half an interval (5 s) after our start announcement
    await answerAJoinerAfterStart()
    expect(pubsub.published).to.have.lengthOf(2)
    const answer = Peer.decode(pubsub.published[1].data)
    expect(answer.addrs.map(b => multiaddr(b).toString())).to.include('/ip4/10.0.0.9/tcp/4001')

    // the answer went out after the change: the debounced one is not sent
    await clock.tickAsync(2000)
    expect(pubsub.published).to.have.lengthOf(2)
  })

  it('sends a debounced announcement when the one that went out after it was asked for failed to publish (S1)', async () => {
    await create({ announceDebounce: 6000 })
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    addressesChanged()
    // the answer to a joiner is published, but the pubsub service rejects it
    // (gossipsub: no outbound stream, a duplicate, no peer above the publish threshold)
    const publish = pubsub.publish.bind(pubsub)
    pubsub.publish = async (topic, data) => {
      await publish(topic, data)
      throw new Error('PublishError.NoPeersSubscribedToTopic')
    }
    await answerAJoinerAfterStart()
    expect(pubsub.published).to.have.lengthOf(2)
    pubsub.publish = publish

    // nobody heard of the change: the debounced announcement still goes out
    await clock.tickAsync(2000)
    expect(pubsub.published).to.have.lengthOf(3)
  })

  it('sends a debounced announcement when the one that went out after it was asked for reached nobody (S1)', async () => {
    await create({ announceDebounce: 6000 })
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    addressesChanged()
    // gossipsub knows the subscriber but has no outbound stream to it yet:
    // the publish resolves with no recipient
    const publish = pubsub.publish.bind(pubsub)
    pubsub.publish = async (topic, data) => {
      await publish(topic, data)
      return { recipients: [] } as any
    }
    await answerAJoinerAfterStart()
    expect(pubsub.published).to.have.lengthOf(2)
    pubsub.publish = publish

    await clock.tickAsync(2000)
    expect(pubsub.published).to.have.lengthOf(3)
  })

  it('sends a debounced announcement when the one that went out after it was asked for missed a topic (S1)', async () => {
    await create({ announceDebounce: 6000, topics: [TOPIC, 'other'] })
    let otherSubscribed = false
    pubsub.getSubscribers = (topic?: string) => topic === 'other' && !otherSubscribed ? [] : pubsub.subscribers
    discovery.afterStart()
    expect(pubsub.published.map(p => p.topic)).to.deep.equal([TOPIC])

    addressesChanged()
    // the answer to a joiner goes out on the one topic with subscribers
    await answerAJoinerAfterStart()
    expect(pubsub.published.map(p => p.topic)).to.deep.equal([TOPIC, TOPIC])

    // the other topic has a subscriber now: nobody there heard of the change
    otherSubscribed = true
    await clock.tickAsync(2000)
    expect(pubsub.published.map(p => p.topic)).to.deep.equal([TOPIC, TOPIC, TOPIC, 'other'])
  })

  it('sends a debounced announcement when the one that went out after it was asked for lacked our record of the new addresses (S1)', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    let addresses = [multiaddr('/ip4/10.0.0.9/tcp/4001')]
    events = new TypedEventEmitter()
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(privateKey),
      privateKey,
      addressManager: stubInterface<AddressManager>({ getAddresses: () => addresses }),
      connectionManager: stubInterface<ConnectionManager>({ getConnections: () => [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] }),
      events,
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, { interval: INTERVAL, announceDebounce: 6000 })
    discovery.afterStart()
    await clock.tickAsync(INTERVAL / 4)

    addresses = [multiaddr('/ip4/10.0.0.9/tcp/4002')]
    events.safeDispatchEvent('self:peer:update', {
      detail: {
        peer: { addresses: [{ multiaddr: addresses[0] }] },
        previous: { addresses: [{ multiaddr: multiaddr('/ip4/10.0.0.9/tcp/4001') }] }
      }
    })
    // the answer to a joiner carries the new address, but our record of it is still being sealed
    const [a] = await remotes(1)
    announce(pubsub, a)
    await clock.tickAsync(INTERVAL / 4 + 100)
    const answer = Peer.decode(pubsub.published[pubsub.published.length - 1].data)
    expect(answer.addrs.map(b => multiaddr(b).toString())).to.deep.equal(['/ip4/10.0.0.9/tcp/4002'])
    expect(answer.signedPeerRecord).to.be.undefined()
    const sent = pubsub.published.length

    // the debounced announcement (at 8.5 s, before the periodic one) carries the record
    await clock.tickAsync(3500)
    expect(pubsub.published).to.have.lengthOf(sent + 1)
    expect(Peer.decode(pubsub.published[sent].data).signedPeerRecord).to.not.be.undefined()
  })

  it('drops messages beyond the per-author rate limit', async () => {
    await create({ rateLimit: 2 })
    discovery.afterStart()
    const [a] = await remotes(1)
    for (let port = 1; port <= 5; port++) { announce(pubsub, a, port) }
    expect(discovery.getMetrics().dropped['rate-limited']).to.equal(3)

    await clock.tickAsync(INTERVAL)
    announce(pubsub, a, 99)
    expect(discovery.getMetrics().dropped['rate-limited']).to.equal(3)
  })

  it('a listenOnly node discovers but never publishes', async () => {
    await create({ listenOnly: true })
    discovery.afterStart()
    const [a] = await remotes(1)
    announce(pubsub, a)
    await clock.tickAsync(10 * INTERVAL)

    expect(emitted).to.deep.equal([a.id.toString()])
    expect(pubsub.published).to.have.lengthOf(0)
  })

  it('waits for the first subscriber before announcing', async () => {
    await create({ announceDebounce: 100 })
    pubsub.subscribers = []
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(0)

    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    pubsub.safeDispatchEvent('subscription-change', { detail: { peerId: pubsub.subscribers[0], subscriptions: [{ topic: TOPIC, subscribe: true }] } })
    await clock.tickAsync(100)
    expect(pubsub.published).to.have.lengthOf(1)
  })

  it('announces when the first subscriber appears after a restart', async () => {
    await create({ announceDebounce: 100 })
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)
    discovery.stop()

    pubsub.subscribers = []
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    pubsub.safeDispatchEvent('subscription-change', { detail: { peerId: pubsub.subscribers[0], subscriptions: [{ topic: TOPIC, subscribe: true }] } })
    await clock.tickAsync(100)
    expect(pubsub.published).to.have.lengthOf(2)
  })

  it('still skips a debounced announcement when the one that went out after it carried our record of its addresses (S1)', async () => {
    const random = sinon.stub(Math, 'random').returns(0.5)
    const privateKey = await generateKeyPair('Ed25519')
    let addresses = [multiaddr('/ip4/10.0.0.9/tcp/4001')]
    events = new TypedEventEmitter()
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(privateKey),
      privateKey,
      addressManager: stubInterface<AddressManager>({ getAddresses: () => addresses }),
      connectionManager: stubInterface<ConnectionManager>({ getConnections: () => [stubInterface<Connection>({ remoteAddr: multiaddr('/ip4/93.184.216.1/tcp/4001') })] }),
      events,
      logger: defaultLogger(),
      components: { gossip: pubsub }
    } as any, { interval: INTERVAL, announceDebounce: 6000 })

    try {
      discovery.afterStart()
      // the address manager takes a change; our periodic announcement (at
      // one interval) carries it and starts sealing our record of it;
      // libp2p tells us later (it patches the peer store from getAddresses())
      addresses = [multiaddr('/ip4/10.0.0.9/tcp/4002')]
      await clock.tickAsync(INTERVAL * 1.1)
      expect(pubsub.published).to.have.lengthOf(2)
      events.safeDispatchEvent('self:peer:update', {
        detail: {
          peer: { addresses: [{ multiaddr: addresses[0] }] },
          previous: { addresses: [{ multiaddr: multiaddr('/ip4/10.0.0.9/tcp/4001') }] }
        }
      })
      // a joiner's answer (half an interval after the periodic one) carries our record
      const [a] = await remotes(1)
      announce(pubsub, a)
      await clock.tickAsync(INTERVAL * 0.4 + 100)
      expect(pubsub.published).to.have.lengthOf(3)
      expect(Peer.decode(pubsub.published[2].data).signedPeerRecord).to.not.be.undefined()

      // the debounced announcement (at 1.7 intervals) is skipped
      await clock.tickAsync(INTERVAL * 0.25)
      expect(pubsub.published).to.have.lengthOf(3)
    } finally {
      random.restore()
    }
  })

  it('answers a joiner it owes an answer to soon after a subscriber appears again, not at its next periodic announcement (S1, S4)', async () => {
    await create()
    discovery.afterStart()
    expect(pubsub.published).to.have.lengthOf(1)

    // our subscribers are gone; a joiner connected to us is heard (as on a direct exchange)
    const subscribers = pubsub.subscribers
    pubsub.subscribers = []
    await clock.tickAsync(INTERVAL / 4)
    const [a] = await remotes(1)
    announce(pubsub, a)
    // the answer is due half an interval after our start announcement: it reaches nobody
    await clock.tickAsync(INTERVAL / 4 + 100)
    expect(pubsub.published).to.have.lengthOf(1)

    // a subscriber appears: the answer owed goes out, within an eighth of an interval
    pubsub.subscribers = subscribers
    pubsub.safeDispatchEvent('subscription-change', { detail: { peerId: subscribers[0], subscriptions: [{ topic: TOPIC, subscribe: true }] } })
    await clock.tickAsync(INTERVAL / 8)
    expect(pubsub.published).to.have.lengthOf(2)
  })

  it('rate-limits each author per topic (each announcement goes to every topic)', async () => {
    await create({ rateLimit: 2, topics: [TOPIC, 'other'] })
    discovery.afterStart()
    const [a] = await remotes(1)
    for (const topic of [TOPIC, 'other']) {
      for (let port = 1; port <= 2; port++) {
        const data = Peer.encode({ publicKey: publicKeyToProtobuf(a.key.publicKey) as Uint8Array<ArrayBuffer>, addrs: [multiaddr(`/ip4/93.184.216.34/tcp/${port}`).bytes as Uint8Array<ArrayBuffer>], peerRecords: [] })
        pubsub.deliver({ type: 'signed', topic, data, from: a.id })
      }
    }
    expect(discovery.getMetrics().dropped['rate-limited']).to.equal(0)
  })

  it('rate-limits unsigned messages too, when they are allowed', async () => {
    await create({ rateLimit: 2, allowUnsigned: true })
    discovery.afterStart()
    const [a] = await remotes(1)
    for (let port = 1; port <= 4; port++) {
      const data = Peer.encode({
        publicKey: publicKeyToProtobuf(a.key.publicKey) as Uint8Array<ArrayBuffer>,
        addrs: [multiaddr(`/ip4/93.184.216.34/tcp/${port}`).bytes as Uint8Array<ArrayBuffer>]
      })
      pubsub.deliver({ type: 'unsigned', topic: TOPIC, data })
    }
    expect(discovery.getMetrics().dropped['rate-limited']).to.equal(2)
  })

  it('names a missing pubsub service clearly', async () => {
    const broken = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [] }),
      events,
      logger: defaultLogger(),
      components: { gossip: new StubPubSub() }
    } as any, { pubsubServiceName: 'pubsub' })
    expect(() => { broken.afterStart() }).to.throw().with.property('name', 'PubSubNotFoundError')
  })

  it('rejects invalid options by name', async () => {
    for (const init of [{ interval: 0 }, { jitter: 1 }, { maxAddresses: -1 }, { targetAnnouncements: 1.5 }, { maxPeriod: 0 }, { maxPeriod: 2.5 }, { announceDebounce: -5 }, { nameResolutionTimeout: 0 }, { nameResolutionTimeout: 2 ** 31 }, { nameResolutionTimeout: 1.5 }]) {
      await create().catch(() => {})
      expect(() => new PubSubPeerDiscovery({ logger: defaultLogger() } as any, init)).to.throw().with.property('name', 'InvalidDiscoveryOptionError')
    }
  })
})
