/**
 * The official module's own tests (`@libp2p/pubsub-peer-discovery` 12.0.0,
 * test/index.spec.ts), ported: each runs against the official module (the
 * control) and against ours, asserting the same things. Where ours differs
 * on purpose, the difference is documented in the README ("Differences from
 * the official module") and its reason is written next to the test.
 */
import { generateKeyPair, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { start, stop } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import defer from 'p-defer'
import pWaitFor from 'p-wait-for'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { allAddresses, TOPIC } from '../src/index.ts'
import * as PB from '../src/pb/peer.ts'
import { deliver, SUBJECTS } from './fixtures/official-subjects.ts'
import type { OfficialComponents } from './fixtures/official-subjects.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { PeerDiscovery, PeerInfo } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { StubbedInstance } from 'sinon-ts'

/** The official module's pubsub interface: `publish` returns nothing */
interface PubSub {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  getSubscribers(topic: string): any[]
  publish(topic: string, message: Uint8Array): void
  addEventListener(type: string, listener: any): void
  removeEventListener(type: string, listener: any): void
  dispatchEvent(event: Event): boolean
}

const listeningMultiaddr = multiaddr('/ip4/127.0.0.1/tcp/9000/ws')

for (const subject of SUBJECTS) {
  const ours = subject.name === 'ours'

  /**
   * Difference 1 (README): ours drops messages without a gossipsub author
   * (the announced key cannot be checked against it) unless
   * `allowUnsigned`. The official tests deliver unsigned messages, so ours
   * runs them with `allowUnsigned: true`.
   */
  const UNSIGNED: PubSubPeerDiscoveryInit = ours ? { allowUnsigned: true } : {}

  describe(`official suite: PubSub Peer Discovery (${subject.name})`, () => {
    let mockPubsub: StubbedInstance<PubSub>
    let discovery: PeerDiscovery
    let components: OfficialComponents

    beforeEach(async () => {
      const privateKey = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(privateKey)

      const subscriberPrivateKey = await generateKeyPair('Ed25519')
      const subscriber = peerIdFromPrivateKey(subscriberPrivateKey)

      // a stub: `publish` returns undefined, as the official interface allows
      mockPubsub = stubInterface<PubSub>({
        getSubscribers: () => {
          return [
            subscriber
          ]
        }
      })

      const addressManager = stubInterface<AddressManager>()
      addressManager.getAddresses.returns([
        listeningMultiaddr
      ])

      components = {
        peerId,
        pubsub: mockPubsub,
        addressManager,
        logger: defaultLogger()
      }
    })

    afterEach(async () => {
      if (discovery != null) {
        await stop(discovery)
      }

      sinon.restore()
    })

    it('should not discover self', async () => {
      discovery = subject.create({ ...UNSIGNED }, components)
      await start(discovery)

      expect(mockPubsub.publish.callCount).to.equal(1)

      subject.broadcast(discovery)
      expect(mockPubsub.publish.callCount).to.equal(2)

      const eventData = mockPubsub.publish.getCall(0).args[1]

      if (!('byteLength' in eventData)) {
        throw new Error('Wrong argument type passed to dispatchEvent')
      }

      const peer = PB.Peer.decode(eventData)
      const peerId = peerIdFromPublicKey(publicKeyFromProtobuf(peer.publicKey))
      expect(peerId.equals(components.peerId)).to.equal(true)
      expect(peer.addrs).to.have.length(1)
      peer.addrs.forEach((addr) => {
        expect(addr).to.equalBytes(listeningMultiaddr.bytes)
      })

      const spy = sinon.spy()
      discovery.addEventListener('peer', spy)

      await deliver(mockPubsub as any, {
        type: 'unsigned',
        topic: TOPIC,
        data: eventData
      })
      expect(spy.callCount).to.equal(0)
    })

    it('should be able to encode/decode a message', async () => {
      // Difference 3 (README): ours drops unspecified addresses (0.0.0.0)
      // of other peers with its default incoming filter (nobody can dial
      // them); this test announces only such addresses, so ours runs it
      // with the filter that accepts every address
      discovery = subject.create({ ...UNSIGNED, ...(ours ? { incomingAddressFilter: allAddresses } : {}) }, components)
      await start(discovery)

      const privateKey = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(privateKey)
      const expectedPeerData: PeerInfo = {
        id: peerId,
        multiaddrs: [
          multiaddr('/ip4/0.0.0.0/tcp/8080/ws'),
          multiaddr('/ip4/0.0.0.0/tcp/8081/ws')
        ]
      }
      const peer = {
        publicKey: publicKeyToProtobuf(peerId.publicKey) as Uint8Array<ArrayBuffer>,
        addrs: expectedPeerData.multiaddrs.map(ma => multiaddr(ma).bytes as Uint8Array<ArrayBuffer>),
        peerRecords: []
      }

      const deferred = defer<PeerInfo>()
      const encodedPeer = PB.Peer.encode(peer).subarray()
      discovery.addEventListener('peer', (evt: CustomEvent<PeerInfo>) => {
        deferred.resolve(evt.detail)
      })

      await deliver(mockPubsub as any, {
        type: 'unsigned',
        data: encodedPeer,
        topic: TOPIC
      })

      const discoveredPeer = await deferred.promise
      expect(discoveredPeer.id.equals(expectedPeerData.id)).to.equal(true)

      discoveredPeer.multiaddrs.forEach(addr => {
        expect(expectedPeerData.multiaddrs.map(ma => ma.toString()).includes(addr.toString())).to.equal(true)
      })
    })

    it('should not broadcast if only listening', async () => {
      discovery = subject.create({ listenOnly: true }, components)
      await start(discovery)

      expect(mockPubsub.dispatchEvent.callCount).to.equal(0)
      // (not in the original, which only checks dispatchEvent)
      expect(mockPubsub.publish.callCount).to.equal(0)
    })

    it('should broadcast after start and on interval', async () => {
      discovery = subject.create({ interval: 100 }, components)
      await start(discovery)

      await pWaitFor(() => mockPubsub.publish.callCount >= 2)
    })

    it('should be able to add and remove peer listeners', async () => {
      discovery = subject.create({}, components)
      await start(discovery)

      const handler = (): void => {}
      discovery.addEventListener('peer', handler)
      expect(discovery.listenerCount('peer')).to.equal(1)
      discovery.removeEventListener('peer', handler)
      expect(discovery.listenerCount('peer')).to.equal(0)

      // Verify libp2p usage
      discovery.addEventListener('peer', handler)
      expect(discovery.listenerCount('peer')).to.equal(1)
      discovery.removeEventListener('peer', handler)
      expect(discovery.listenerCount('peer')).to.equal(0)
    })

    it('should allow for customized topics', async () => {
      // Listen to the global topic and the namespace of `myApp`
      const topics = [`myApp.${TOPIC}`, TOPIC]

      discovery = subject.create({ topics }, components)
      await start(discovery)

      if (!ours) {
        expect(mockPubsub.addEventListener.callCount).to.equal(2)
        topics.forEach((topic, index) => {
          // The first arg of the matching call number should be the matching topic we sent
          expect(mockPubsub.addEventListener.args[index][0]).to.equal('message')
        })

        await stop(discovery)
        expect(mockPubsub.removeEventListener.callCount).to.equal(2)
        topics.forEach((topic, index) => {
          // The first arg of the matching call number should be the matching topic we sent
          expect(mockPubsub.removeEventListener.args[index][0]).to.equal('message')
        })
        return
      }

      // Difference 2 (README): ours registers one `message` listener for
      // all its topics (the official module adds the same one once per
      // topic), plus a `subscription-change` listener, to announce as soon
      // as a topic has its first subscriber. The same two calls, then: the
      // topics subscribed to, and every listener removed on stop
      expect(mockPubsub.addEventListener.callCount).to.equal(2)
      expect(mockPubsub.addEventListener.args.map(([type]) => type)).to.have.members(['message', 'subscription-change'])
      expect(mockPubsub.subscribe.args.map(([topic]) => topic)).to.deep.equal(topics)

      await stop(discovery)
      expect(mockPubsub.removeEventListener.callCount).to.equal(2)
      expect(mockPubsub.removeEventListener.args).to.deep.equal(mockPubsub.addEventListener.args)
      expect(mockPubsub.unsubscribe.args.map(([topic]) => topic)).to.deep.equal(topics)
    })
  })
}

describe('official suite: documented differences of ours', () => {
  it('drops unsigned messages by default and counts them', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const pubsub = stubInterface<PubSub>({ getSubscribers: () => [] })
    const discovery = SUBJECTS[1].create({}, {
      peerId: peerIdFromPrivateKey(privateKey),
      pubsub,
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [] }),
      logger: defaultLogger()
    })
    await start(discovery)
    const spy = sinon.spy()
    discovery.addEventListener('peer', spy)
    const other = await generateKeyPair('Ed25519')

    await deliver(pubsub as any, {
      type: 'unsigned',
      topic: TOPIC,
      data: PB.Peer.encode({ publicKey: publicKeyToProtobuf(other.publicKey) as Uint8Array<ArrayBuffer>, addrs: [multiaddr('/ip4/1.2.3.4/tcp/1').bytes as Uint8Array<ArrayBuffer>], peerRecords: [] })
    })

    expect(spy.callCount).to.equal(0)
    expect((discovery as any).getMetrics().dropped.unsigned).to.equal(1)
    await stop(discovery)
  })
})
