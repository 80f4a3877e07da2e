import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import tests from '@libp2p/interface-compliance-tests/peer-discovery'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { PubSubPeerDiscovery, TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { AddressManager } from '@libp2p/interface-internal'

describe('compliance', () => {
  let timer: ReturnType<typeof setInterval> | undefined

  tests({
    async setup () {
      const selfKey = await generateKeyPair('Ed25519')
      const remoteKey = await generateKeyPair('Ed25519')
      const remote = peerIdFromPrivateKey(remoteKey)
      const pubsub = new StubPubSub()
      const addressManager = stubInterface<AddressManager>({ getAddresses: () => [] })
      const discovery = new PubSubPeerDiscovery({
        peerId: peerIdFromPrivateKey(selfKey),
        addressManager,
        events: new TypedEventEmitter(),
        logger: defaultLogger(),
        components: { pubsub }
      } as any, { interval: 1000 })

      // a remote peer announcing itself now and then
      const data = Peer.encode({ publicKey: publicKeyToProtobuf(remoteKey.publicKey) as Uint8Array<ArrayBuffer>, addrs: [multiaddr('/ip4/1.2.3.4/tcp/4001').bytes as Uint8Array<ArrayBuffer>] })
      let port = 4001
      timer = setInterval(() => {
        // a new address each time, so every announcement is news
        const fresh = Peer.encode({ publicKey: publicKeyToProtobuf(remoteKey.publicKey) as Uint8Array<ArrayBuffer>, addrs: [multiaddr(`/ip4/1.2.3.4/tcp/${port++}`).bytes as Uint8Array<ArrayBuffer>] })
        pubsub.deliver({ type: 'signed', topic: TOPIC, data: port === 4002 ? data : fresh, from: remote })
      }, 200)

      return discovery
    },
    async teardown () {
      clearInterval(timer)
    }
  })
})
