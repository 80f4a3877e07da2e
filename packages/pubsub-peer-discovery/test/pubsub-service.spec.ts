/**
 * How the pubsub service is found and called: components built by hand
 * (as the official tests and some embedders build them) or by libp2p, and
 * a `publish` that returns no Promise, throws, or rejects.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { PubSubPeerDiscovery } from '../src/index.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { AddressManager } from '@libp2p/interface-internal'

async function create (services: Record<string, unknown>, init: PubSubPeerDiscoveryInit = {}): Promise<PubSubPeerDiscovery> {
  const privateKey = await generateKeyPair('Ed25519')

  return new PubSubPeerDiscovery({
    peerId: peerIdFromPrivateKey(privateKey),
    addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
    logger: defaultLogger(),
    ...services
  } as any, init)
}

/** A pubsub whose `publish` does what `behaviour` says */
function pubsubWhosePublish (behaviour: 'returns nothing' | 'throws' | 'rejects'): StubPubSub {
  const pubsub = new StubPubSub()
  pubsub.publish = ((topic: string, data: Uint8Array): any => {
    pubsub.published.push({ topic, data, at: Date.now() })

    if (behaviour === 'throws') {
      throw new Error('publish threw')
    }

    if (behaviour === 'rejects') {
      return Promise.reject(new Error('publish rejected'))
    }

    return undefined
  }) as any
  return pubsub
}

describe('pubsub service', () => {
  afterEach(() => {
    sinon.restore()
  })

  describe('lookup', () => {
    it('finds a pubsub passed as the `pubsub` component, with no capability declared', async () => {
      const pubsub = new StubPubSub()
      delete (pubsub as any)[Object.getOwnPropertySymbols(pubsub)[0]]
      const discovery = await create({ pubsub })

      discovery.afterStart()
      expect([...pubsub.topics]).to.have.lengthOf(1)
      discovery.stop()
    })

    it('finds the component named by pubsubServiceName among hand-built components', async () => {
      const pubsub = new StubPubSub()
      const discovery = await create({ pubsub }, { pubsubServiceName: 'pubsub' })

      discovery.afterStart()
      expect(pubsub.topics.size).to.equal(1)
      discovery.stop()
    })

    it('finds a hand-built component under any key by its capability', async () => {
      const pubsub = new StubPubSub()
      const discovery = await create({ gossip: pubsub })

      discovery.afterStart()
      expect(pubsub.topics.size).to.equal(1)
      discovery.stop()
    })

    it('throws PubSubNotFoundError when the named component is missing or is no pubsub', async () => {
      const discovery = await create({ pubsub: new StubPubSub(), other: {} }, { pubsubServiceName: 'other' })

      expect(() => { discovery.afterStart() }).to.throw().with.property('name', 'PubSubNotFoundError')
      const none = await create({})
      expect(() => { none.afterStart() }).to.throw().with.property('name', 'PubSubNotFoundError')
    })

    it('reads named components through an accessor that throws for missing ones (libp2p\'s components)', async () => {
      const pubsub = new StubPubSub()
      const services: Record<string, unknown> = { pubsub }
      const privateKey = await generateKeyPair('Ed25519')
      const base: Record<string, unknown> = {
        peerId: peerIdFromPrivateKey(privateKey),
        addressManager: stubInterface<AddressManager>({ getAddresses: () => [] }),
        logger: defaultLogger(),
        // optional components of ours, absent here
        privateKey: undefined,
        peerStore: undefined,
        connectionManager: undefined,
        events: undefined,
        metrics: undefined
      }
      const proxy = new Proxy({}, {
        get: (_, prop) => {
          if (typeof prop !== 'string') {
            return undefined
          }
          const value = base[prop] ?? services[prop]
          if (value == null && !(prop in base)) {
            throw new Error(`${prop} not set`)
          }
          return value
        }
      })
      const discovery = new PubSubPeerDiscovery(proxy as any, { pubsubServiceName: 'pubsub' })

      discovery.afterStart()
      expect(pubsub.topics.size).to.equal(1)
      discovery.stop()
    })
  })

  describe('publish', () => {
    let clock: sinon.SinonFakeTimers

    beforeEach(() => {
      clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    })

    ;(['returns nothing', 'throws', 'rejects'] as const).forEach((behaviour) => {
      it(`starts, and keeps announcing from its timers, when publish ${behaviour}`, async () => {
        const pubsub = pubsubWhosePublish(behaviour)
        pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
        const discovery = await create({ pubsub, events: new TypedEventEmitter() }, { interval: 1000 })
        const uncaught = sinon.spy()
        process.prependListener('unhandledRejection', uncaught)

        try {
          discovery.afterStart()
          await clock.tickAsync(5_000)
          // real ticks, so a rejection would be reported as unhandled
          clock.restore()
          await new Promise(resolve => setTimeout(resolve, 10))
        } finally {
          process.removeListener('unhandledRejection', uncaught)
          discovery.stop()
        }

        expect(pubsub.published.length).to.be.at.least(4)
        expect(uncaught.callCount).to.equal(0)
        expect(discovery.getMetrics().announceFailures).to.equal(behaviour === 'returns nothing' ? 0 : pubsub.published.length)
      })
    })
  })
})
