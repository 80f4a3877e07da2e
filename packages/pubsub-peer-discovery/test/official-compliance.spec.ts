/**
 * The official module's compliance test (`@libp2p/pubsub-peer-discovery`
 * 12.0.0, test/compliance.spec.ts: `@libp2p/interface-compliance-tests`'
 * peer-discovery suite), ported: it runs against the official module (the
 * control) and against ours. A remote peer announces itself every second
 * with an unsigned message, delivered as a pubsub would deliver it.
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import tests from '@libp2p/interface-compliance-tests/peer-discovery'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { stubInterface } from 'sinon-ts'
import { TOPIC } from '../src/index.ts'
import { Peer as PBPeer } from '../src/pb/peer.ts'
import { deliver, SUBJECTS } from './fixtures/official-subjects.ts'
import type { AddressManager } from '@libp2p/interface-internal'

/** The official module's pubsub interface: `publish` returns nothing */
interface PubSub {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  getSubscribers(topic: string): any[]
  publish(topic: string, message: Uint8Array): void
  addEventListener(type: string, listener: any): void
  removeEventListener(type: string, listener: any): void
}

for (const subject of SUBJECTS) {
  describe(`official suite: compliance tests (${subject.name})`, () => {
    let intervalId: ReturnType<typeof setInterval>

    tests({
      async setup () {
        const privateKey = await generateKeyPair('Ed25519')
        const peerId = peerIdFromPrivateKey(privateKey)

        const subscriberPrivateKey = await generateKeyPair('Ed25519')
        const subscriber = peerIdFromPrivateKey(subscriberPrivateKey)

        const addressManager = stubInterface<AddressManager>()
        addressManager.getAddresses.returns([
          multiaddr(`/ip4/43.10.1.2/tcp/39832/p2p/${peerId.toString()}`)
        ])

        const pubsub = stubInterface<PubSub>({
          getSubscribers: () => {
            return [
              subscriber
            ]
          }
        })

        // Difference 1 (README): the remote's messages are unsigned, which
        // ours drops unless `allowUnsigned`
        const pubsubDiscovery = subject.create(subject.name === 'ours' ? { allowUnsigned: true } : {}, {
          pubsub,
          peerId,
          addressManager,
          logger: defaultLogger()
        })

        intervalId = setInterval(() => {
          const peer = PBPeer.encode({
            publicKey: publicKeyToProtobuf(subscriber.publicKey) as Uint8Array<ArrayBuffer>,
            addrs: [
              multiaddr('/ip4/166.10.1.2/tcp/80').bytes as Uint8Array<ArrayBuffer>
            ],
            peerRecords: []
          }).subarray()

          void deliver(pubsub as any, {
            type: 'unsigned',
            topic: TOPIC,
            data: peer
          })
        }, 1000)

        return pubsubDiscovery
      },
      async teardown () {
        await new Promise(resolve => setTimeout(resolve, 10))
        clearInterval(intervalId)
      }
    })
  })
}
