/**
 * Hostile peers on the topic (PROTOCOL.md, "Hostile peers"): what they send
 * is judged by gossipsub's topic validator (the stub runs it as gossipsub
 * does), and cannot steer, silence or flood the node. Fake time where
 * budgets per interval matter.
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { RecordType } from '@multiformats/dns'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import * as C from '../src/constants.ts'
import { PubSubPeerDiscovery, publicAddressesOnly, scopedAddresses, TOPIC } from '../src/index.ts'
import { Peer } from '../src/pb/peer.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { Connection, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { DNS, QueryOptions } from '@multiformats/dns'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Remote { key: PrivateKey, id: PeerId }

async function remotes (n: number): Promise<Remote[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const key = await generateKeyPair('Ed25519')
    return { key, id: peerIdFromPrivateKey(key) }
  }))
}

async function sealed (signer: PrivateKey, about: PeerId, addrs: Multiaddr[], seq = BigInt(Date.now())): Promise<Uint8Array<ArrayBuffer>> {
  return (await RecordEnvelope.seal(new PeerRecord({ peerId: about, multiaddrs: addrs, seqNumber: seq }), signer)).marshal() as Uint8Array<ArrayBuffer>
}

async function settle (): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

const PUBLIC = '/ip4/93.184.216.34/tcp/4001'

describe('hostile peers', () => {
  let pubsub: StubPubSub
  let discovery: PubSubPeerDiscovery
  /** Peers connected to us, and the address we reach each over */
  let connected: Map<string, Multiaddr>
  let consumed: Uint8Array[]
  let emitted: Array<{ id: string, addrs: string[] }>
  let selfKey: PrivateKey

  async function create (init: PubSubPeerDiscoveryInit = {}, extra: Record<string, unknown> = {}): Promise<void> {
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    selfKey = await generateKeyPair('Ed25519')
    connected = new Map()
    consumed = []
    emitted = []
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(selfKey),
      privateKey: selfKey,
      peerStore: stubInterface<PeerStore>({
        consumePeerRecord: async (bytes: Uint8Array) => { consumed.push(bytes); return true }
      }),
      connectionManager: stubInterface<ConnectionManager>({
        getConnections: (peer?: PeerId) => {
          const over = peer == null ? undefined : connected.get(peer.toString())
          return over == null ? [] : [stubInterface<Connection>({ remoteAddr: over })]
        }
      }),
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [multiaddr('/ip4/10.0.0.9/tcp/4001')] }),
      events: new TypedEventEmitter(),
      logger: defaultLogger(),
      pubsub,
      ...extra
    } as any, { interval: 10_000, ...init })
    discovery.addEventListener('peer', (evt) => {
      emitted.push({ id: evt.detail.id.toString(), addrs: evt.detail.multiaddrs.map(ma => ma.toString()) })
    })
    discovery.afterStart()
    await settle()
  }

  function message (from: Remote, fields: Partial<Peer> = {}, seqno?: bigint): Parameters<StubPubSub['deliver']>[0] {
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(from.key.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: [multiaddr(PUBLIC).bytes as Uint8Array<ArrayBuffer>],
      peerRecords: [],
      ...fields
    })
    return { type: 'signed', topic: TOPIC, data, from: from.id, sequenceNumber: seqno }
  }

  const addrs = (...list: string[]): Array<Uint8Array<ArrayBuffer>> => list.map(a => multiaddr(a).bytes as Uint8Array<ArrayBuffer>)

  afterEach(() => {
    discovery?.stop()
    sinon.restore()
  })

  describe('1. incoming addresses', () => {
    const ALL = ['/ip4/127.0.0.1/tcp/1', '/ip4/192.168.1.1/tcp/80', '/ip4/0.0.0.0/tcp/1', '/ip4/169.254.0.1/tcp/1', '/ip4/224.0.0.251/udp/5353', '/ip6/fe80::1/tcp/1', PUBLIC]

    it('keeps only public addresses from a peer reached over a public address (or not connected)', async () => {
      await create()
      const [far, near] = await remotes(2)
      connected.set(near.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))

      pubsub.deliver(message(far, { addrs: addrs(...ALL) }))
      pubsub.deliver(message(near, { addrs: addrs(...ALL) }))

      expect(emitted.map(e => e.addrs)).to.deep.equal([[PUBLIC], [PUBLIC]])
      expect(discovery.getMetrics().filteredAddresses).to.equal(2 * (ALL.length - 1))
    })

    it('keeps private addresses from a peer on our network, loopback ones from a peer on our machine; never unusable ones', async () => {
      await create()
      const [lan, local] = await remotes(2)
      connected.set(lan.id.toString(), multiaddr('/ip4/192.168.1.7/tcp/4001'))
      connected.set(local.id.toString(), multiaddr('/ip4/127.0.0.1/tcp/4001'))

      pubsub.deliver(message(lan, { addrs: addrs(...ALL) }))
      pubsub.deliver(message(local, { addrs: addrs(...ALL) }))

      expect(emitted[0].addrs).to.deep.equal(['/ip4/192.168.1.1/tcp/80', PUBLIC])
      expect(emitted[1].addrs).to.deep.equal(['/ip4/127.0.0.1/tcp/1', '/ip4/192.168.1.1/tcp/80', PUBLIC])
    })

    it('judges an author we have no connection to by the peer that forwarded its message', async () => {
      await create()
      const [author, forwarder] = await remotes(2)
      connected.set(forwarder.id.toString(), multiaddr('/ip4/127.0.0.1/tcp/4001'))

      pubsub.deliver(message(author, { addrs: addrs('/ip4/127.0.0.1/tcp/1', PUBLIC) }), forwarder.id)
      expect(emitted[0].addrs).to.deep.equal(['/ip4/127.0.0.1/tcp/1', PUBLIC])
    })

    it('does not store an own record certifying addresses the filter drops', async () => {
      await create()
      const [far] = await remotes(1)
      const own = await sealed(far.key, far.id, [multiaddr('/ip4/127.0.0.1/tcp/22')])
      pubsub.deliver(message(far, { addrs: addrs('/ip4/127.0.0.1/tcp/22'), signedPeerRecord: own }))
      await settle()

      expect(consumed).to.have.lengthOf(0)
      expect(emitted).to.have.lengthOf(0)
    })

    it('takes relayed records only from authors connected to us', async () => {
      await create()
      const [far, x] = await remotes(2)
      pubsub.deliver(message(far, { peerRecords: [await sealed(x.key, x.id, [multiaddr(PUBLIC)])] }))
      await settle()

      expect(emitted.map(e => e.id)).to.deep.equal([far.id.toString()])
      expect(discovery.getMetrics().relayed).to.equal(0)
      expect(discovery.getMetrics().dropped['relay-not-connected']).to.equal(1)
    })

    it('learns at most MAX_LEARNED_PER_RELAY peers from one relaying author while joining', async () => {
      await create({ maxMessageSize: 64 * 1024 })
      const [relay] = await remotes(1)
      connected.set(relay.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))
      const invented = await remotes(C.MAX_LEARNED_PER_RELAY + 20)
      const records = await Promise.all(invented.map(async p => sealed(p.key, p.id, [multiaddr(PUBLIC)])))

      pubsub.deliver(message(relay, { peerRecords: records.slice(0, 50) }))
      await settle()
      pubsub.deliver(message(relay, { peerRecords: records.slice(50) }))
      await settle()

      expect(discovery.getMetrics().relayed).to.equal(C.MAX_LEARNED_PER_RELAY)
    })

    it('publicAddressesOnly drops zoned, IPv4-mapped private, fe80::/10, benchmarking and multicast addresses', () => {
      for (const a of ['/ip6zone/eth0/ip6/fe80::1/tcp/1', '/ip6/::ffff:10.0.0.1/tcp/1', '/ip6/::ffff:127.0.0.1/tcp/1', '/ip6/fe90::1/tcp/1', '/ip6/febf::1/tcp/1', '/ip4/198.18.0.1/tcp/1', '/ip4/224.0.0.1/udp/1', '/ip6/ff02::1/udp/1', '/ip4/0.0.0.0/tcp/1', '/ip6/::/tcp/1', '/ip4/100.64.0.1/tcp/1', '/ip6/fd00::1/tcp/1']) {
        expect(publicAddressesOnly(multiaddr(a)), a).to.be.false()
      }
      for (const a of ['/ip4/8.8.8.8/tcp/1', '/ip6/2001:4860::8888/tcp/1', '/dns4/example.com/tcp/443/wss']) {
        expect(publicAddressesOnly(multiaddr(a)), a).to.be.true()
      }
    })
  })

  describe('1a. unsigned messages (allowUnsigned)', () => {
    it('an unsigned message claiming the key of a peer connected to us over loopback gets neither its reach nor its relays', async () => {
      await create({ allowUnsigned: true })
      const [local, far, x] = await remotes(3)
      connected.set(local.id.toString(), multiaddr('/ip4/127.0.0.1/tcp/4001'))
      const forged = { ...message(local, { addrs: addrs('/ip4/127.0.0.1/tcp/22', PUBLIC), peerRecords: [await sealed(x.key, x.id, [multiaddr(PUBLIC)])] }), type: 'unsigned' as const, from: undefined, sequenceNumber: undefined }

      // sent by a peer not connected to us: nothing ties the key to it
      pubsub.deliver(forged, far.id)
      await settle()

      expect(emitted).to.deep.equal([{ id: local.id.toString(), addrs: [PUBLIC] }])
      expect(discovery.getMetrics().relayed).to.equal(0)
    })

    it('an unsigned message sent by the very peer whose key it carries keeps that peer\'s reach', async () => {
      await create({ allowUnsigned: true })
      const [local] = await remotes(1)
      connected.set(local.id.toString(), multiaddr('/ip4/127.0.0.1/tcp/4001'))
      const own = { ...message(local, { addrs: addrs('/ip4/127.0.0.1/tcp/22', PUBLIC) }), type: 'unsigned' as const, from: undefined, sequenceNumber: undefined }

      pubsub.deliver(own, local.id)

      expect(emitted).to.deep.equal([{ id: local.id.toString(), addrs: ['/ip4/127.0.0.1/tcp/22', PUBLIC] }])
    })
  })

  describe('1c. DNS names', () => {
    /** A stand-in DNS (never the real one): name -> addresses; a name it does not list hangs until aborted */
    function fakeDns (names: Record<string, string[]>): { dns: DNS, asked: string[] } {
      const asked: string[] = []
      const dns: DNS = {
        query: async (name: string, options: QueryOptions = {}) => {
          asked.push(name)
          const answers = names[name]

          if (answers == null) {
            return new Promise((resolve, reject) => {
              options.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
            })
          }

          const types = Array.isArray(options.types) ? options.types : options.types == null ? [RecordType.A, RecordType.AAAA] : [options.types]
          const Answer = answers
            .map(data => ({ name, data, TTL: 60, type: data.includes(':') ? RecordType.AAAA : RecordType.A }))
            .filter(a => types.includes(a.type))
          return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer }
        }
      }
      return { dns, asked }
    }

    const NAMES = {
      'private.example': ['192.168.1.5'],
      'loop.example': ['127.0.0.1'],
      'linklocal.example': ['fe80::1'],
      'good.example': ['93.184.216.35'],
      'mixed.example': ['93.184.216.36', '10.0.0.1'],
      'v6.example': ['2606:2800:220:1::1'],
      'none.example': []
    }

    async function settled (condition: () => boolean): Promise<void> {
      while (!condition()) {
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }

    it('keeps a name only if every address it resolves to passes the scope rule (resolved with the injected DNS)', async () => {
      const { dns, asked } = fakeDns(NAMES)
      await create({}, { dns })
      const [far] = await remotes(1)
      connected.set(far.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))

      pubsub.deliver(message(far, {
        addrs: addrs(PUBLIC, '/dns4/private.example/tcp/1', '/dns4/loop.example/tcp/2', '/dns6/linklocal.example/tcp/3',
          '/dns4/good.example/tcp/4', '/dns/mixed.example/tcp/5', '/dns6/v6.example/tcp/6', '/dns4/none.example/tcp/7',
          '/dnsaddr/boot.example', '/dns4/good.example/tcp/8/p2p-circuit')
      }))
      await settled(() => emitted.length > 0)

      expect(emitted).to.have.lengthOf(1)
      // names kept are pinned to the addresses they were judged by (DNS rebinding)
      expect(emitted[0].addrs).to.deep.equal([PUBLIC, '/ip4/93.184.216.35/tcp/4', '/ip6/2606:2800:220:1::1/tcp/6', '/ip4/93.184.216.35/tcp/8/p2p-circuit'])
      expect(asked).to.not.include('boot.example')
      expect(discovery.getMetrics().filteredAddresses).to.equal(6)
    })

    it('keeps a name resolving to a private address from a peer on our network', async () => {
      const { dns } = fakeDns(NAMES)
      await create({}, { dns })
      const [lan] = await remotes(1)
      connected.set(lan.id.toString(), multiaddr('/ip4/192.168.1.7/tcp/4001'))

      pubsub.deliver(message(lan, { addrs: addrs('/dns4/private.example/tcp/1', '/dns4/loop.example/tcp/2') }))
      await settled(() => emitted.length > 0)

      expect(emitted[0].addrs).to.deep.equal(['/ip4/192.168.1.5/tcp/1'])
    })

    it('drops a name whose lookup does not answer in time, and still emits the other addresses', async () => {
      const { dns, asked } = fakeDns(NAMES)
      await create({ nameResolutionTimeout: 20 }, { dns })
      const [far] = await remotes(1)

      pubsub.deliver(message(far, { addrs: addrs(PUBLIC, '/dns4/hangs.example/tcp/1') }))
      await settled(() => emitted.length > 0)

      expect(asked).to.deep.equal(['hangs.example'])
      expect(emitted[0].addrs).to.deep.equal([PUBLIC])
    })

    it('does not store an own record certifying a name that resolves to a private address', async () => {
      const { dns } = fakeDns(NAMES)
      await create({}, { dns })
      const [far, good] = await remotes(2)
      const planted = [multiaddr(PUBLIC), multiaddr('/dns4/private.example/tcp/1')]
      pubsub.deliver(message(far, { addrs: planted.map(ma => ma.bytes as Uint8Array<ArrayBuffer>), signedPeerRecord: await sealed(far.key, far.id, planted) }))
      // a name a handshake needs (TLS) is kept as a name, so its record can be stored
      const fine = [multiaddr('/dns4/good.example/tcp/443/tls/ws')]
      pubsub.deliver(message(good, { addrs: fine.map(ma => ma.bytes as Uint8Array<ArrayBuffer>), signedPeerRecord: await sealed(good.key, good.id, fine) }))
      await settled(() => emitted.length === 2 && consumed.length > 0)
      await settle()

      expect(consumed).to.have.lengthOf(1)
      expect(emitted.find(e => e.id === far.id.toString())?.addrs).to.deep.equal([PUBLIC])
    })

    it('resolves the names of relayed records too: a peer planted behind a private name is not learned', async () => {
      const { dns } = fakeDns(NAMES)
      await create({}, { dns })
      const [relay, hidden, fine] = await remotes(3)
      connected.set(relay.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))

      pubsub.deliver(message(relay, {
        peerRecords: [
          await sealed(hidden.key, hidden.id, [multiaddr('/dns4/loop.example/tcp/1')]),
          await sealed(fine.key, fine.id, [multiaddr('/dns4/good.example/tcp/1')])
        ]
      }))
      await settled(() => emitted.length === 2)
      await settle()

      expect(emitted.map(e => e.id)).to.deep.equal([relay.id.toString(), fine.id.toString()])
      expect(emitted[1].addrs).to.deep.equal(['/ip4/93.184.216.35/tcp/1'])
    })

    it('a relayed record whose names resolve late does not overwrite a newer record of the same peer learned meanwhile', async () => {
      let release: () => void = () => {}
      const answered = new Promise<void>(resolve => { release = resolve })
      const dns: DNS = {
        query: async (name: string, options: QueryOptions = {}) => {
          await answered
          const types = Array.isArray(options.types) ? options.types : [options.types ?? RecordType.A]
          const Answer = types.includes(RecordType.A) ? [{ name, data: '93.184.216.35', TTL: 60, type: RecordType.A }] : []
          return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer }
        }
      }
      await create({}, { dns })
      const [relay, peer] = await remotes(2)
      connected.set(relay.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))

      // its older record names a host whose lookup is slow; its newer one does not
      pubsub.deliver(message(relay, { peerRecords: [await sealed(peer.key, peer.id, [multiaddr('/dns4/slow.example/tcp/1')], 1n)] }))
      await settle()
      pubsub.deliver(message(relay, { peerRecords: [await sealed(peer.key, peer.id, [multiaddr('/ip4/93.184.216.40/tcp/2')], 2n)] }))
      await settled(() => emitted.some(e => e.id === peer.id.toString()))

      release()
      await settle()

      expect(emitted.filter(e => e.id === peer.id.toString()).map(e => e.addrs)).to.deep.equal([['/ip4/93.184.216.40/tcp/2']])
    })

    it('bounds the lookups in flight node-wide: names beyond it are dropped, not queued', async () => {
      const { dns, asked } = fakeDns(NAMES)
      await create({ nameResolutionTimeout: 50 }, { dns })

      for (const author of await remotes(C.MAX_PENDING_NAME_LOOKUPS + 10)) {
        pubsub.deliver(message(author, { addrs: addrs(PUBLIC, '/dns4/hangs.example/tcp/1') }))
      }
      await settled(() => emitted.length === C.MAX_PENDING_NAME_LOOKUPS + 10)

      expect(asked).to.have.lengthOf(C.MAX_PENDING_NAME_LOOKUPS)
      expect(emitted.every(e => e.addrs.length === 1 && e.addrs[0] === PUBLIC)).to.equal(true)
    })
    it('DNS rebinding: emits the addresses a name was judged by, not the name, unless a handshake needs the name (TLS, WebSockets)', async () => {
      const { dns } = fakeDns(NAMES)
      await create({}, { dns })
      const [far] = await remotes(1)

      pubsub.deliver(message(far, {
        addrs: addrs('/dns4/good.example/tcp/4/p2p-circuit', '/dns/mixed.example/tcp/5', '/dns6/v6.example/udp/6/quic-v1',
          '/dns4/good.example/tcp/443/tls/ws')
      }))
      await settled(() => emitted.length > 0)

      // a dial re-resolves a name, and a hostile name server may then answer
      // with a private address: what was judged is what is dialled
      expect(emitted[0].addrs).to.deep.equal(['/ip4/93.184.216.35/tcp/4/p2p-circuit', '/ip6/2606:2800:220:1::1/udp/6/quic-v1', '/dns4/good.example/tcp/443/tls/ws'])
      expect(discovery.getMetrics().filteredAddresses).to.equal(1)
    })

    it('DNS rebinding: a name answered round-robin is pinned to the same addresses each time (no re-emission)', async () => {
      const many = Array.from({ length: 2 * C.MAX_PINNED_PER_NAME }, (_, i) => `93.184.216.${100 + i}`)
      const zone: Record<string, string[]> = { 'rr.example': many }
      const { dns, asked } = fakeDns(zone)
      await create({}, { dns })
      const [far] = await remotes(1)

      pubsub.deliver(message(far, { addrs: addrs('/dns4/rr.example/tcp/1') }))
      await settled(() => emitted.length > 0)
      // the name server rotates its answer
      zone['rr.example'] = [...many.slice(5), ...many.slice(0, 5)]
      pubsub.deliver(message(far, { addrs: addrs('/dns4/rr.example/tcp/1') }))
      // the second announcement was looked up and judged (the fake name server answers at once)
      await settled(() => asked.length === 2)
      await settle()

      expect(emitted).to.have.lengthOf(1)
      expect(emitted[0].addrs).to.have.lengthOf(C.MAX_PINNED_PER_NAME)
    })

    it('DNS rebinding: does not store a record certifying a name it would pin (the peer store would re-resolve it at dial time)', async () => {
      const { dns } = fakeDns(NAMES)
      await create({}, { dns })
      const [far] = await remotes(1)
      const list = ['/dns4/good.example/tcp/4']
      const record = await sealed(far.key, far.id, list.map(a => multiaddr(a)))

      pubsub.deliver(message(far, { addrs: addrs(...list), signedPeerRecord: record }))
      await settled(() => emitted.length > 0)
      await settle()

      expect(emitted[0].addrs).to.deep.equal(['/ip4/93.184.216.35/tcp/4'])
      expect(consumed).to.have.lengthOf(0)
    })

    describe('DNS amplification: lookups per author and node-wide per interval', () => {
      /** `n` distinct names of `tag`, each resolving to a public address */
      function publicNames (tag: string, n: number): Record<string, string[]> {
        return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${tag}${i}.example`, [`93.184.216.${(i % 200) + 1}`]]))
      }

      async function emittedCount (n: number): Promise<void> {
        await settled(() => emitted.length === n)
      }

      it('an author gets at most MAX_NAME_LOOKUPS_PER_AUTHOR names looked up per interval, however many announcements carry them', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const names = publicNames('a', 4 * C.MAX_NAMES_PER_ANNOUNCEMENT)
        const { dns, asked } = fakeDns(names)
        await create({}, { dns })
        const [author] = await remotes(1)
        const list = Object.keys(names)

        // its rate limit: 4 announcements in the interval, 8 fresh names each
        for (let i = 0; i < C.DEFAULT_RATE_LIMIT; i++) {
          const batch = list.slice(i * C.MAX_NAMES_PER_ANNOUNCEMENT, (i + 1) * C.MAX_NAMES_PER_ANNOUNCEMENT)
          // a new port each time: each announcement is news, so emitted
          pubsub.deliver(message(author, { addrs: addrs(`/ip4/93.184.216.34/tcp/${4001 + i}`, ...batch.map(n => `/dns4/${n}/tcp/1`)) }))
          await emittedCount(i + 1)
        }

        expect(asked).to.have.lengthOf(C.MAX_NAME_LOOKUPS_PER_AUTHOR)
        // each announcement is still handled: its other addresses are emitted
        expect(emitted).to.have.lengthOf(C.DEFAULT_RATE_LIMIT)
        clock.restore()
      })

      it('fresh authors get at most maxNameLookupsPerInterval names looked up per interval, node-wide', async () => {
        // the budget refills with time: none passes here
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const authors = await remotes(20)
        const names = publicNames('b', authors.length * C.MAX_NAMES_PER_ANNOUNCEMENT)
        const { dns, asked } = fakeDns(names)
        await create({}, { dns })
        const list = Object.keys(names)

        for (const [i, author] of authors.entries()) {
          const batch = list.slice(i * C.MAX_NAMES_PER_ANNOUNCEMENT, (i + 1) * C.MAX_NAMES_PER_ANNOUNCEMENT)
          pubsub.deliver(message(author, { addrs: addrs(PUBLIC, ...batch.map(n => `/dns4/${n}/tcp/1`)) }))
          await emittedCount(i + 1)
        }

        expect(asked).to.have.lengthOf(C.DEFAULT_MAX_NAME_LOOKUPS_PER_INTERVAL)
        clock.restore()
      })

      it('the default budget covers a forming topic of 100 peers announcing a name each within one interval (warm-up: every peer announces every interval)', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const authors = await remotes(100)
        const names = publicNames('f', authors.length)
        const { dns, asked } = fakeDns(names)
        await create({}, { dns })
        const list = Object.keys(names)

        for (const [i, author] of authors.entries()) {
          pubsub.deliver(message(author, { addrs: addrs(`/dns4/${list[i]}/tcp/1`) }))
          // the fake name server answers at once
          await settle()
        }

        // with 64 a peer announcing only a name was dropped past the 64th
        expect(asked).to.have.lengthOf(authors.length)
        expect(emitted).to.have.lengthOf(authors.length)
        clock.restore()
      })

      it('an author connected to us gets its names looked up though fresh keys spent the node-wide budget', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const names = publicNames('d', 2 * C.MAX_NAMES_PER_ANNOUNCEMENT)
        const { dns, asked } = fakeDns(names)
        await create({ maxNameLookupsPerInterval: C.MAX_NAMES_PER_ANNOUNCEMENT }, { dns })
        const [key, neighbour] = await remotes(2)
        const list = Object.keys(names).map(n => `/dns4/${n}/tcp/1`)

        pubsub.deliver(message(key, { addrs: addrs(PUBLIC, ...list.slice(0, C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
        await settled(() => emitted.length === 1)

        // a connection cannot be forged with a key, and our connections bound such authors (as R9)
        connected.set(neighbour.id.toString(), multiaddr('/ip4/93.184.216.50/tcp/4001'))
        pubsub.deliver(message(neighbour, { addrs: addrs(PUBLIC, ...list.slice(C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
        await settled(() => emitted.length === 2)
        expect(asked).to.have.lengthOf(2 * C.MAX_NAMES_PER_ANNOUNCEMENT)
        expect(emitted[1].addrs).to.have.lengthOf(1 + C.MAX_NAMES_PER_ANNOUNCEMENT)
        clock.restore()
      })

      it('authors connected to us get at most CONNECTED_NAME_LOOKUPS_FACTOR * maxNameLookupsPerInterval names looked up per interval, whatever the number of connections', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const budget = C.MAX_NAMES_PER_ANNOUNCEMENT
        const cap = C.CONNECTED_NAME_LOOKUPS_FACTOR * budget
        // one connection (and key) more than the cap takes, each at its own budget
        const authors = await remotes(cap / C.MAX_NAME_LOOKUPS_PER_AUTHOR + 1)
        const names = publicNames('k', authors.length * C.MAX_NAMES_PER_ANNOUNCEMENT)
        const { dns, asked } = fakeDns(names)
        await create({ maxNameLookupsPerInterval: budget }, { dns })
        const list = Object.keys(names).map(n => `/dns4/${n}/tcp/1`)

        for (const [i, author] of authors.entries()) {
          connected.set(author.id.toString(), multiaddr(`/ip4/93.184.217.${i + 1}/tcp/4001`))
          pubsub.deliver(message(author, { addrs: addrs(PUBLIC, ...list.slice(i * C.MAX_NAMES_PER_ANNOUNCEMENT, (i + 1) * C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
          await emittedCount(i + 1)
        }

        expect(asked).to.have.lengthOf(cap)
        // the last one's names are dropped, its other address still emitted
        expect(emitted[authors.length - 1].addrs).to.deep.equal([PUBLIC])
        clock.restore()
      })

      it('an unsigned message (allowUnsigned) claiming the key of a peer connected to us spends neither that peer\'s lookups nor the exemption of its connection', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const names = { ...publicNames('u', 2 * C.MAX_NAMES_PER_ANNOUNCEMENT), 'good.example': ['93.184.216.35'] }
        const { dns, asked } = fakeDns(names)
        // the node-wide budget: one forged message's names
        await create({ allowUnsigned: true, maxNameLookupsPerInterval: C.MAX_NAMES_PER_ANNOUNCEMENT }, { dns })
        const [honest, far] = await remotes(2)
        connected.set(honest.id.toString(), multiaddr('/ip4/93.184.216.50/tcp/4001'))
        const list = Object.keys(names).filter(n => n.startsWith('u')).map(n => `/dns4/${n}/tcp/1`)
        const forge = (batch: string[]): Parameters<StubPubSub['deliver']>[0] =>
          ({ ...message(honest, { addrs: addrs(PUBLIC, ...batch) }), type: 'unsigned' as const, from: undefined, sequenceNumber: undefined })

        // forwarded by a peer not connected to us: nothing ties the key to the honest peer
        pubsub.deliver(forge(list.slice(0, C.MAX_NAMES_PER_ANNOUNCEMENT)), far.id)
        await settled(() => emitted.length === 1)
        pubsub.deliver(forge(list.slice(C.MAX_NAMES_PER_ANNOUNCEMENT)), far.id)
        await settled(() => emitted.length === 2)

        // the forgeries share the budgets of unsigned messages and of authors not connected to us
        expect(asked).to.have.lengthOf(C.MAX_NAMES_PER_ANNOUNCEMENT)

        // the honest peer's own (signed) announcement still has its name looked up
        pubsub.deliver(message(honest, { addrs: addrs('/ip4/93.184.216.34/tcp/4002', '/dns4/good.example/tcp/4001') }))
        await settled(() => emitted.length === 3)
        expect(asked).to.include('good.example')
        expect(emitted[2]).to.deep.equal({ id: honest.id.toString(), addrs: ['/ip4/93.184.216.34/tcp/4002', '/ip4/93.184.216.35/tcp/4001'] })
        clock.restore()
      })

      it('the lookup budgets refill over the interval', async () => {
        const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
        const names = publicNames('c', 2 * C.MAX_NAMES_PER_ANNOUNCEMENT)
        const { dns, asked } = fakeDns(names)
        await create({ maxNameLookupsPerInterval: C.MAX_NAMES_PER_ANNOUNCEMENT }, { dns })
        const [one, two] = await remotes(2)
        const list = Object.keys(names).map(n => `/dns4/${n}/tcp/1`)

        pubsub.deliver(message(one, { addrs: addrs(PUBLIC, ...list.slice(0, C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
        await settled(() => emitted.length === 1)
        pubsub.deliver(message(two, { addrs: addrs(PUBLIC, ...list.slice(C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
        await settled(() => emitted.length === 2)
        expect(asked).to.have.lengthOf(C.MAX_NAMES_PER_ANNOUNCEMENT)
        expect(emitted[1].addrs).to.deep.equal([PUBLIC])

        clock.tick(10_000)
        pubsub.deliver(message(two, { addrs: addrs(PUBLIC, ...list.slice(C.MAX_NAMES_PER_ANNOUNCEMENT)) }))
        await settled(() => emitted.length === 3)
        expect(asked).to.have.lengthOf(2 * C.MAX_NAMES_PER_ANNOUNCEMENT)
        expect(emitted[2].addrs).to.have.lengthOf(1 + C.MAX_NAMES_PER_ANNOUNCEMENT)
        clock.restore()
      })
    })
  })

  describe('1b. address scopes', () => {
    it('scopedAddresses judges localhost in any case or with a trailing dot, and IPv4-mapped IPv6 addresses by their IPv4 address', () => {
      const fromPublicPeer = { reach: 'public' as const }
      const fromLanPeer = { reach: 'private' as const }

      for (const a of ['/dns4/LOCALHOST/tcp/22', '/dns4/localhost./tcp/22', '/dns6/Foo.LocalHost/tcp/22', '/ip6/::ffff:7f00:1/tcp/22', '/ip6/::ffff:127.0.0.1/tcp/22']) {
        expect(scopedAddresses(multiaddr(a), fromPublicPeer), `${a} from a public peer`).to.be.false()
        expect(scopedAddresses(multiaddr(a), fromLanPeer), `${a} from a LAN peer`).to.be.false()
      }
      for (const a of ['/ip6/::ffff:224.0.0.1/udp/1', '/ip6/::ffff:0.0.0.0/tcp/1', '/ip6/::ffff:169.254.1.1/tcp/1']) {
        expect(scopedAddresses(multiaddr(a), { reach: 'loopback' }), a).to.be.false()
      }
      expect(scopedAddresses(multiaddr('/ip6/::ffff:8.8.8.8/tcp/1'), fromPublicPeer)).to.be.true()
    })
  })

  describe('2. replays', () => {
    it('ignores a replayed message before charging the author\'s budget, and never re-emits its stale addresses', async () => {
      await create({ rateLimit: 2 })
      const [victim] = await remotes(1)
      const old = message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/1') }, 10n)
      expect(pubsub.deliver(old)).to.equal('accept')
      expect(pubsub.deliver(message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/2') }, 11n))).to.equal('accept')

      // its old message, again and again (gossipsub forgot it after 2 minutes)
      for (let i = 0; i < 5; i++) {
        expect(pubsub.deliver(old)).to.equal('ignore')
      }

      expect(emitted.map(e => e.addrs)).to.deep.equal([['/ip4/93.184.216.1/tcp/1'], ['/ip4/93.184.216.1/tcp/2']])
      expect(discovery.getMetrics().dropped.replayed).to.equal(5)
      expect(discovery.getMetrics().dropped['rate-limited']).to.equal(0)
    })

    it('still ignores a replay after a flood of fresh authors over the node-wide budget (they cannot evict the author\'s seqno)', async () => {
      await create({ rateLimit: 2 })
      const [victim] = await remotes(1)
      const old = message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/1') }, 10n)
      expect(pubsub.deliver(old)).to.equal('accept')
      expect(pubsub.deliver(message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/2') }, 11n))).to.equal('accept')

      // keys are free: one cheap message from each of more fresh authors
      // than the seqnos tracked, nearly all over the budget of new peers
      for (const author of await remotes(C.MAX_TRACKED_AUTHORS)) {
        pubsub.deliver(message(author, {}, 1n))
      }

      expect(pubsub.deliver(old)).to.equal('ignore')
      expect(emitted.filter(e => e.id === victim.id.toString()).map(e => e.addrs)).to.deep.equal([['/ip4/93.184.216.1/tcp/1'], ['/ip4/93.184.216.1/tcp/2']])
    })

    it('a patient flood of admitted fresh authors, each announcing twice, cannot evict an established author\'s seqno', async () => {
      // budgets lifted: every fresh author is admitted, as cached identities
      // trickled in within the budgets over many intervals would be
      await create({ maxNewPeersPerInterval: 1_000_000 })
      const [victim] = await remotes(1)
      const old = message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/1') }, 10n)
      expect(pubsub.deliver(old)).to.equal('accept')
      expect(pubsub.deliver(message(victim, { addrs: addrs('/ip4/93.184.216.1/tcp/2') }, 11n))).to.equal('accept')

      // more authors than any table holds, each admitted twice (so each
      // looks as established as the victim, only younger)
      for (const author of await remotes(C.MAX_TRACKED_AUTHORS + 64)) {
        pubsub.deliver(message(author, {}, 1n))
        pubsub.deliver(message(author, {}, 2n))
      }

      expect(pubsub.deliver(old)).to.equal('ignore')
      expect(emitted.filter(e => e.id === victim.id.toString()).map(e => e.addrs)).to.deep.equal([['/ip4/93.184.216.1/tcp/1'], ['/ip4/93.184.216.1/tcp/2']])
    })

    it('accepts the copies of one announcement on several topics in any order', async () => {
      await create({ topics: [TOPIC, 'other'] })
      const [peer] = await remotes(1)
      expect(pubsub.deliver({ ...message(peer, {}, 21n), topic: 'other' })).to.equal('accept')
      expect(pubsub.deliver(message(peer, {}, 20n))).to.equal('accept')
      expect(pubsub.deliver(message(peer, {}, 20n))).to.equal('ignore')
    })

    it('drops an announcement whose own record is older than the one it sent before', async () => {
      await create()
      const [peer] = await remotes(1)
      pubsub.deliver(message(peer, { addrs: addrs('/ip4/93.184.216.1/tcp/2'), signedPeerRecord: await sealed(peer.key, peer.id, [multiaddr('/ip4/93.184.216.1/tcp/2')], 100n) }))
      await settle()
      expect(pubsub.deliver(message(peer, { addrs: addrs('/ip4/93.184.216.1/tcp/1'), signedPeerRecord: await sealed(peer.key, peer.id, [multiaddr('/ip4/93.184.216.1/tcp/1')], 50n) }))).to.equal('ignore')
      await settle()

      expect(consumed).to.have.lengthOf(1)
      expect(emitted.map(e => e.addrs)).to.deep.equal([['/ip4/93.184.216.1/tcp/2']])
      expect(discovery.getMetrics().dropped['stale-record']).to.equal(1)
    })
  })

  describe('3. node-wide budgets', () => {
    it('bounds the peers learned and the signatures verified per interval, whatever the number of authors', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create({ maxNewPeersPerInterval: 50, maxVerificationsPerInterval: 40 })
      const flood = await remotes(300)
      const verify = sinon.spy(RecordEnvelope, 'openAndCertify')

      for (const author of flood) {
        pubsub.deliver(message(author, { signedPeerRecord: await sealed(author.key, author.id, [multiaddr(PUBLIC)]) }))
      }
      await settle()

      expect(emitted).to.have.lengthOf(50)
      expect(verify.callCount).to.equal(40)
      expect(discovery.getMetrics().dropped['over-budget']).to.equal(250 + 10)

      // the next interval: the budgets are back
      await clock.tickAsync(10_000)
      for (const author of flood.slice(100, 200)) {
        pubsub.deliver(message(author))
      }
      expect(emitted).to.have.lengthOf(100)
      clock.restore()
    })
  })

  describe('4. amplification', () => {
    it('a churn of joiners connected to us (a new identity every half interval) costs at most one answer an interval', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      sinon.stub(Math, 'random').returns(0.5)
      await create({ targetAnnouncements: 1 })
      // a steady topic of 12 nodes, past our warm-up
      const crowd = await remotes(11)
      for (let i = 0; i < 12; i++) {
        for (const p of crowd) { pubsub.deliver(message(p)) }
        await clock.tickAsync(10_000)
      }
      const steadyFrom = pubsub.published.length
      for (let i = 0; i < 12; i++) {
        for (const p of crowd) { pubsub.deliver(message(p)) }
        await clock.tickAsync(10_000)
      }
      const steady = pubsub.published.length - steadyFrom

      const attackFrom = pubsub.published.length
      for (let i = 0; i < 24; i++) {
        const [fresh] = await remotes(1)
        connected.set(fresh.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))
        pubsub.deliver(message(fresh, { signedPeerRecord: i % 2 === 0 ? await sealed(fresh.key, fresh.id, [multiaddr(PUBLIC)]) : undefined }))
        if (i % 2 === 0) {
          for (const p of crowd) { pubsub.deliver(message(p)) }
        }
        await clock.tickAsync(5_000)
      }
      const attacked = pubsub.published.length - attackFrom

      // 12 intervals each: at most one answer an interval on top of the steady rhythm
      expect(attacked).to.be.at.most(steady + 12)
      clock.restore()
    })

    it('a joiner not connected to us makes us publish nothing, and does not pull our periodic announcement forward', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      sinon.stub(Math, 'random').returns(0.5)
      await create({ targetAnnouncements: 1 })
      const crowd = await remotes(11)
      for (let i = 0; i < 12; i++) {
        for (const p of crowd) { pubsub.deliver(message(p)) }
        await clock.tickAsync(10_000)
      }
      const periodicDue = (): number => (discovery as any).clock.periodicDue
      // just past a periodic announcement
      await clock.tickAsync(periodicDue() - Date.now() + 1)
      const before = pubsub.published.length
      const due = periodicDue()
      expect(due).to.be.above(Date.now() + 3 * 10_000)

      // official-module joiners (no record) and ours, none connected, one every half interval
      for (let i = 0; i < 6; i++) {
        const [fresh] = await remotes(1)
        pubsub.deliver(message(fresh, { signedPeerRecord: i % 2 === 0 ? await sealed(fresh.key, fresh.id, [multiaddr(PUBLIC)]) : undefined }))
        await clock.tickAsync(5_000)
      }

      expect(pubsub.published.length).to.equal(before)
      expect(periodicDue()).to.equal(due)
      clock.restore()
    })
  })

  describe('5. relays of others', () => {
    it('junk records relayed by another peer neither stop our relay nor teach us anything', async () => {
      await create()
      const crowd = await remotes(3)
      for (const p of crowd) {
        pubsub.deliver(message(p, { signedPeerRecord: await sealed(p.key, p.id, [multiaddr(PUBLIC)]) }))
      }
      await settle()
      const [relay, joiner] = await remotes(2)
      pubsub.deliver(message(relay))
      connected.set(relay.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))
      connected.set(joiner.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))
      pubsub.deliver(message(joiner))
      // 64 records that are no records, then 64 whose signature is broken
      pubsub.deliver(message(relay, { peerRecords: Array.from({ length: 64 }, () => crypto.getRandomValues(new Uint8Array(150)) as Uint8Array<ArrayBuffer>) }))
      const broken = await Promise.all((await remotes(64)).map(async p => {
        const bytes = await sealed(p.key, p.id, [multiaddr(PUBLIC)])
        bytes[bytes.length - 1] ^= 0xff
        return bytes
      }))
      pubsub.deliver(message(relay, { peerRecords: broken }))
      await settle()

      ;(discovery as any).announce('test')
      const sent = Peer.decode(pubsub.published[pubsub.published.length - 1].data)
      expect(sent.peerRecords).to.have.lengthOf(3)
      expect(discovery.getMetrics().relayed).to.equal(0)
    })
  })

  describe('6. relayed peers kept apart', () => {
    it('peers learned from relays never evict peers heard first-hand nor count in the size estimate', async () => {
      // room for the 4 peers heard first-hand and the relay
      await create({ maxPeers: 5 })
      const direct = await remotes(4)
      for (const p of direct) { pubsub.deliver(message(p)) }
      const [relay] = await remotes(1)
      connected.set(relay.id.toString(), multiaddr('/ip4/93.184.216.1/tcp/4001'))
      const invented = await remotes(10)
      pubsub.deliver(message(relay, { peerRecords: await Promise.all(invented.map(async p => sealed(p.key, p.id, [multiaddr(PUBLIC)]))) }))
      await settle()
      const before = emitted.length

      // the first-hand peers announce again: still known, nothing emitted
      for (const p of direct) { pubsub.deliver(message(p)) }
      expect(emitted.length).to.equal(before)
      expect(discovery.getMetrics().peers).to.equal(5)
    })
  })

  describe('7. a flood of fresh keys at the new-peer budget', () => {
    const INTERVAL = 10_000

    /** `rounds` intervals of `perRound` messages from fresh keys each; `between` runs after each round's flood, within its interval */
    async function flood (clock: sinon.SinonFakeTimers, rounds: number, perRound: number, between: (round: number) => void = () => {}): Promise<void> {
      for (let round = 0; round < rounds; round++) {
        for (const author of await remotes(perRound)) {
          pubsub.deliver(message(author))
        }
        between(round)
        await clock.tickAsync(INTERVAL)
      }
    }

    it('does not push a peer heard twice out of the peers heard, nor drop its announcements within its ttl', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      // 64 peers heard: one interval of the flood would fill them twice over
      await create({ maxPeers: 64 })
      const [victim] = await remotes(1)
      expect(pubsub.deliver(message(victim))).to.equal('accept')
      await clock.tickAsync(INTERVAL / 2)
      expect(pubsub.deliver(message(victim))).to.equal('accept')

      const verdicts: string[] = []
      await flood(clock, 12, C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL, (round) => {
        // the victim announces every other interval, after the flood spent the budget
        if (round % 2 === 1) {
          verdicts.push(pubsub.deliver(message(victim)))
        }
      })

      expect(verdicts).to.deep.equal(Array(6).fill('accept'))
      // still known: heard, never emitted again
      expect(emitted.filter(e => e.id === victim.id.toString())).to.have.lengthOf(1)
      clock.restore()
    })

    it('admits an established author we no longer hold from a reserved allowance, not the new-peer budget', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      // room for two peers heard: the third established one pushes out the first
      await create({ maxPeers: 2 })
      const established = await remotes(3)
      for (const p of established) { pubsub.deliver(message(p)) }
      await clock.tickAsync(INTERVAL / 2)
      for (const p of established) { pubsub.deliver(message(p)) }

      // the flood spends the new-peer budget of this interval
      for (const author of await remotes(C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL)) {
        pubsub.deliver(message(author))
      }
      expect(pubsub.deliver(message(await remotes(1).then(r => r[0])))).to.equal('ignore')

      // its seqno is established and it was heard within its ttl
      expect(pubsub.deliver(message(established[0]))).to.equal('accept')
      clock.restore()
    })

    it('admits a peer connected to us though keys that were heard twice spent the allowance of established authors', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      // room for two peers heard: the keys are not held from one interval to the next
      await create({ maxPeers: 2 })
      const keys = await remotes(C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL)

      // each key announces twice at once: its seqno is established (R3)
      for (const k of keys) {
        pubsub.deliver(message(k))
        pubsub.deliver(message(k))
      }
      await clock.tickAsync(INTERVAL)

      // again, no longer held: they spend the allowance of established authors (R9)
      for (const k of keys) { pubsub.deliver(message(k)) }
      expect(pubsub.deliver(message(keys[0]))).to.equal('ignore')

      // a peer that connects to us costs a connection, not a key: it is still heard
      const [joiner] = await remotes(1)
      connected.set(joiner.id.toString(), multiaddr('/ip4/93.184.216.50/tcp/4001'))
      expect(pubsub.deliver(message(joiner))).to.equal('accept')
      clock.restore()
    })

    it('still counts the peers of a large topic, each heard once a period: the ttl is reckoned from every peer heard', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create()
      // 60 peers announcing every 10 intervals (the period of a topic of 60):
      // we hear 6 an interval, each for the second time 10 intervals later
      const peers = await remotes(60)
      for (let round = 0; round < 20; round++) {
        for (const p of peers.slice((round % 10) * 6, (round % 10) * 6 + 6)) { pubsub.deliver(message(p)) }
        await clock.tickAsync(INTERVAL)
      }

      // 61 nodes: a period of 11 intervals; about 2 announcements in 22
      const before = pubsub.published.length
      for (let round = 0; round < 22; round++) {
        for (const p of peers.slice((round % 10) * 6, (round % 10) * 6 + 6)) { pubsub.deliver(message(p)) }
        await clock.tickAsync(INTERVAL)
      }
      expect(pubsub.published.length - before).to.be.at.most(5)
      clock.restore()
    })

    it('does not stretch our announcement period by holding peers gone: a flood of fresh keys lengthens the ttl of the peers heard, not of the peers counted', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create()
      // 60 established peers (heard twice), then gone: their ttl is 4 periods of a topic of 61, 44 intervals
      const peers = await remotes(60)
      for (const p of peers) { pubsub.deliver(message(p)) }
      await clock.tickAsync(INTERVAL / 2)
      for (const p of peers) { pubsub.deliver(message(p)) }

      // fresh keys heard once, all along: the peers heard look many, so they are held longer
      const rounds = async (n: number): Promise<void> => {
        for (let round = 0; round < n; round++) {
          for (const author of await remotes(32)) { pubsub.deliver(message(author)) }
          await clock.tickAsync(INTERVAL)
        }
      }
      await rounds(50)

      // 50 intervals later we are alone with the flood: we announce about every interval
      // (counting the 60 gone, once every 11)
      const before = pubsub.published.length
      await rounds(20)
      expect(pubsub.published.length - before).to.be.at.least(10)
      clock.restore()
    })

    it('does not stretch our announcement period: fresh keys heard once do not count in the size estimate', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create()
      // past the warm-up (which a stream of new peers extends), 1,152 fresh keys heard
      await flood(clock, C.MAX_WARMUP_INTERVALS - 1, C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL)
      await clock.tickAsync(2 * INTERVAL)

      // alone with the flood, we announce about every interval (period of 1
      // interval); counted 1,024 peers, once every 171
      const before = pubsub.published.length
      await clock.tickAsync(20 * INTERVAL)
      expect(pubsub.published.length - before).to.be.at.least(10)
      clock.restore()
    })
    it('keys that each announce twice, half an interval apart, stretch our period at most to maxPeriod', async () => {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      await create()
      // 1,152 keys, 128 new ones an interval (the new-peer budget), each
      // heard twice half an interval apart: they count as 1,024 nodes, a
      // period of 171 intervals without the cap
      const keys: Remote[] = []
      for (let round = 0; round < 9; round++) {
        const batch = await remotes(C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL)
        for (const k of batch) { pubsub.deliver(message(k)) }
        await clock.tickAsync(INTERVAL / 2)
        for (const k of batch) { pubsub.deliver(message(k)) }
        await clock.tickAsync(INTERVAL / 2)
        keys.push(...batch)
      }
      // past the warm-up and any period drawn before the cap was reached
      await clock.tickAsync(2 * C.DEFAULT_MAX_PERIOD * INTERVAL)

      // each period is drawn within half a period to one and a half, jittered
      // by 10% (S2): at most 53 intervals apart when capped at 32, at least 77
      // at a period of 171; so over 320 intervals, keys kept alive all along,
      // at least 6 announcements capped, at most 5 not
      const before = pubsub.published.length
      for (let round = 0; round < 10 * C.DEFAULT_MAX_PERIOD; round++) {
        for (const k of keys.slice((round * 16) % keys.length, (round * 16) % keys.length + 16)) { pubsub.deliver(message(k)) }
        await clock.tickAsync(INTERVAL)
      }
      expect(pubsub.published.length - before).to.be.at.least(6)
      clock.restore()
    })
  })

  describe('8. topic validator', () => {
    it('registers a validator on each topic: reject for spoofed, oversized and undecodable messages, ignore for rate-limited ones', async () => {
      await create({ rateLimit: 1, topics: [TOPIC, 'other'] })
      expect([...pubsub.topicValidators.keys()]).to.have.members([TOPIC, 'other'])
      const [a, b] = await remotes(2)

      expect(pubsub.deliver(message(a))).to.equal('accept')
      expect(pubsub.deliver(message(a))).to.equal('ignore')
      expect(pubsub.deliver({ ...message(a), from: b.id, sequenceNumber: undefined })).to.equal('reject')
      expect(pubsub.deliver({ type: 'signed', topic: TOPIC, data: new Uint8Array(20_000), from: b.id })).to.equal('reject')
      expect(pubsub.deliver({ type: 'signed', topic: 'other', data: new Uint8Array([1, 2, 3, 4]), from: b.id })).to.equal('reject')

      discovery.stop()
      expect(pubsub.topicValidators.size).to.equal(0)
    })

    it('keeps a validator the application set on the topic: both judge, and it is back in place after stop', async () => {
      await create()
      discovery.stop()
      const seen: unknown[] = []
      const theirs = (_: PeerId, msg: unknown): 'accept' | 'reject' => { seen.push(msg); return seen.length === 1 ? 'accept' : 'reject' }
      pubsub.topicValidators.set(TOPIC, theirs as any)
      discovery.afterStart()
      const [a, b] = await remotes(2)

      expect(pubsub.deliver(message(a))).to.equal('accept')
      expect(pubsub.deliver(message(b))).to.equal('reject')
      // what ours drops never reaches theirs
      expect(pubsub.deliver({ type: 'signed', topic: TOPIC, data: new Uint8Array([1, 2, 3, 4]), from: b.id })).to.equal('reject')
      expect(seen).to.have.lengthOf(2)

      discovery.stop()
      expect(pubsub.topicValidators.get(TOPIC)).to.equal(theirs)
    })
  })
})
