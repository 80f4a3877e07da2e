/**
 * DNS names in other peers' addresses (PROTOCOL.md A4), judged by
 * `names.ts` against stand-in resolvers (never the real DNS) that behave as
 * the resolvers libp2p nodes use do.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordType } from '@multiformats/dns'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { scopedAddresses } from '../src/address-filter.ts'
import * as C from '../src/constants.ts'
import { PubSubPeerDiscovery, TOPIC } from '../src/index.ts'
import { NameCheck } from '../src/names.ts'
import { Peer } from '../src/pb/peer.ts'
import { StubPubSub } from './fixtures/stub-pubsub.ts'
import type { PubSubPeerDiscoveryInit } from '../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { DNS, DNSResponse, QueryOptions } from '@multiformats/dns'

const log = defaultLogger().forComponent('test:names')
const FROM_PUBLIC_PEER = { reach: 'public' as const }
/** The lookup budgets per interval (tested in hostile.spec.ts) out of the way of the bounds tested here */
const UNBUDGETED = { interval: 10_000, maxLookupsPerInterval: 1e9, maxLookupsPerAuthor: 1e9 }

/**
 * As `@multiformats/dns`'s Node resolver (the default, and libp2p's
 * default): the record types of one query are asked together
 * (`Promise.all` of `resolve4` and `resolve6`), so a query for A and AAAA
 * fails when the name has no records of one of them (ENODATA)
 */
function nodeLikeDns (zone: Record<string, string[]>): { dns: DNS, asked: string[] } {
  const asked: string[] = []
  const dns: DNS = {
    query: async (name: string, options: QueryOptions = {}): Promise<DNSResponse> => {
      const types = Array.isArray(options.types) ? options.types : options.types == null ? [RecordType.A, RecordType.AAAA] : [options.types]
      asked.push(`${name} ${types.map(t => RecordType[t]).join('+')}`)
      const Answer = types.flatMap(type => {
        const data = (zone[name] ?? []).filter(ip => (ip.includes(':') ? RecordType.AAAA : RecordType.A) === type)

        if (data.length === 0) {
          throw Object.assign(new Error(`query${RecordType[type]} ENODATA ${name}`), { code: 'ENODATA' })
        }

        return data.map(ip => ({ name, type, data: ip, TTL: 60 }))
      })
      return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer }
    }
  }
  return { dns, asked }
}

describe('names', () => {
  it('keeps a /dns name of a host with addresses of one family only (the Node resolver fails a joint A and AAAA query)', async () => {
    const { dns } = nodeLikeDns({
      'v4only.example': ['93.184.216.34'],
      'v6only.example': ['2606:2800:220:1::1'],
      'v4private.example': ['10.0.0.1']
    })
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 5_000 }, log)
    const addrs = ['/dns/v4only.example/tcp/1', '/dns/v6only.example/tcp/2', '/dns/v4private.example/tcp/3'].map(a => multiaddr(a))

    const kept = await names.filter(addrs, scopedAddresses, FROM_PUBLIC_PEER)

    expect(kept.map(ma => ma.toString())).to.deep.equal(['/dns/v4only.example/tcp/1', '/dns/v6only.example/tcp/2'])
  })

  it('looks each name up once per announcement: a host on many transports keeps all its addresses', async () => {
    const { dns, asked } = nodeLikeDns({ 'node.example': ['93.184.216.34'] })
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 5_000 }, log)
    const addrs = Array.from({ length: 12 }, (_, i) => multiaddr(`/dns4/node.example/tcp/${4001 + i}/ws`))

    const kept = await names.filter(addrs, scopedAddresses, FROM_PUBLIC_PEER)

    expect(kept).to.have.lengthOf(12)
    expect(asked).to.deep.equal(['node.example A'])
  })

  it('does not look up localhost names: the first pass judged them loopback (RFC 6761), and resolvers need not know them', async () => {
    const { dns, asked } = nodeLikeDns({})
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 5_000 }, log)
    const addrs = ['/dns4/localhost/tcp/1', '/dns/LocalHost./tcp/2', '/dns6/node.localhost/tcp/3'].map(a => multiaddr(a))

    const kept = await names.filter(addrs, scopedAddresses, { reach: 'loopback' })

    expect(kept).to.have.lengthOf(3)
    expect(asked).to.deep.equal([])
  })

  it('drops a name at the timeout even when the resolver ignores the abort signal, and frees its slot', async () => {
    const asked: string[] = []
    const dns: DNS = {
      // never settles, whatever the signal says
      query: async (name: string): Promise<DNSResponse> => {
        asked.push(name)
        return new Promise(() => {})
      }
    }
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 10 }, log)

    for (let round = 0; round < 3; round++) {
      const addrs = Array.from({ length: 8 }, (_, i) => multiaddr(`/dns4/hangs${round}-${i}.example/tcp/1`))
      await Promise.all(Array.from({ length: 4 }, async () => {
        expect(await names.filter(addrs, scopedAddresses, FROM_PUBLIC_PEER)).to.deep.equal([])
      }))
    }

    // 32 slots: each round fills them; the timeouts free them for the next
    expect(asked).to.have.lengthOf(3 * 32)
  })
})

describe('names: bounded work', () => {
  it('judges at most MAX_RESOLVED_CHECKS addresses per announcement, however many addresses a name resolves to', async () => {
    // a hostile name server answers with 1,000 addresses (a 16 KiB answer over TCP)
    const many = Array.from({ length: 1000 }, (_, i) => `93.184.${i >> 8}.${i & 255}`)
    const { dns } = nodeLikeDns({ 'many.example': many, 'node.example': ['93.184.216.34', '93.184.216.35'] })
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 5_000 }, log)
    let judged = 0
    const counting: typeof scopedAddresses = (ma, source) => { judged++; return scopedAddresses(ma, source) }
    const addrs = [
      ...Array.from({ length: 10 }, (_, i) => multiaddr(`/dns4/node.example/tcp/${4001 + i}`)),
      ...Array.from({ length: 54 }, (_, i) => multiaddr(`/dns4/many.example/tcp/${5001 + i}/ws`))
    ]

    const kept = await names.filter(addrs, counting, FROM_PUBLIC_PEER)

    expect(judged).to.be.at.most(C.MAX_RESOLVED_CHECKS)
    expect(kept.map(ma => ma.toString())).to.deep.equal(addrs.slice(0, 10).map(ma => ma.toString()))
  })
})

describe('names: memory', () => {
  it('a long run of lookups leaves nothing behind (no AbortSignal.any on the long-lived shutdown signal: nodejs/node#64476)', async function () {
    this.timeout(120_000)
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    // keeps nothing itself; listens to the signal while it works, as
    // `@multiformats/dns`'s Node resolver does
    const dns: DNS = {
      query: async (name: string, options: QueryOptions = {}): Promise<DNSResponse> => {
        const onAbort = (): void => {}
        options.signal?.addEventListener('abort', onAbort)

        try {
          await Promise.resolve()
          return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer: [{ name, type: RecordType.A, data: '93.184.216.34', TTL: 60 }] }
        } finally {
          options.signal?.removeEventListener('abort', onAbort)
        }
      }
    }
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 10 }, log)
    const addrs = [multiaddr('/dns4/node.example/tcp/1')]
    const lookups = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await names.filter(addrs, scopedAddresses, FROM_PUBLIC_PEER)
      }
    }
    const heap = async (): Promise<number> => {
      // after the lookups' timeouts (10 ms, set earlier: they fire first)
      await new Promise(resolve => setTimeout(resolve, 50))

      for (let i = 0; i < 3; i++) {
        await new Promise(resolve => setImmediate(resolve))
        gc()
      }
      return process.memoryUsage().heapUsed
    }

    await lookups(2_000)
    const before = await heap()
    await lookups(60_000)
    const grown = await heap() - before

    // AbortSignal.any kept 1.9 MiB of 60,000 lookups here; 34 KiB without it
    expect(grown).to.be.below(512 * 1024)
  })
})

describe('names: lookups that never answer', () => {
  it('cannot hold every slot: a new lookup takes the slot of one in flight for LOOKUP_PREEMPTIBLE_AFTER', async () => {
    let now = 0
    const asked: string[] = []
    const dns: DNS = {
      // names under hostile.example never answer (until aborted); the others do at once
      query: async (name: string, options: QueryOptions = {}): Promise<DNSResponse> => {
        asked.push(name)

        if (name.endsWith('.hostile.example')) {
          return new Promise((_resolve, reject) => { options.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true }) })
        }

        return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer: [{ name, type: RecordType.A, data: '93.184.216.34', TTL: 60 }] }
      }
    }
    const names = new NameCheck(() => dns, { ...UNBUDGETED, timeout: 60_000, now: () => now }, log)

    // a hostile peer's announcements take every slot
    const held = Array.from({ length: C.MAX_PENDING_NAME_LOOKUPS / 8 }, async (_, k) => names.filter(
      Array.from({ length: 8 }, (_, i) => multiaddr(`/dns4/n${k}-${i}.hostile.example/tcp/1`)), scopedAddresses, FROM_PUBLIC_PEER))
    const good = [multiaddr('/dns4/good.example/tcp/1')]

    // while they are young, a new name is dropped, not queued
    now = C.LOOKUP_PREEMPTIBLE_AFTER - 1
    expect(await names.filter(good, scopedAddresses, FROM_PUBLIC_PEER)).to.deep.equal([])

    // once they are old, it takes the oldest one's slot
    now = C.LOOKUP_PREEMPTIBLE_AFTER
    expect((await names.filter(good, scopedAddresses, FROM_PUBLIC_PEER)).map(String)).to.deep.equal(['/dns4/good.example/tcp/1'])
    expect(asked.filter(name => name === 'good.example')).to.have.lengthOf(1)

    names.abort()
    expect((await Promise.all(held)).flat()).to.deep.equal([])
  })
})

describe('names: announcements waiting for lookups', () => {
  let pubsub: StubPubSub
  let discovery: PubSubPeerDiscovery
  let emitted: string[][]

  async function create (dns: DNS, init: PubSubPeerDiscoveryInit = {}): Promise<void> {
    pubsub = new StubPubSub()
    pubsub.subscribers = [peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    const key = await generateKeyPair('Ed25519')
    emitted = []
    discovery = new PubSubPeerDiscovery({
      peerId: peerIdFromPrivateKey(key),
      privateKey: key,
      addressManager: stubInterface<AddressManager>({ getAddresses: () => [] }),
      events: new TypedEventEmitter(),
      logger: defaultLogger(),
      pubsub,
      dns
    } as any, { interval: 10_000, ...init })
    discovery.addEventListener('peer', (evt) => { emitted.push(evt.detail.multiaddrs.map(ma => ma.toString())) })
    discovery.afterStart()
  }

  function announcement (from: PrivateKey, addrs: string[]): Parameters<StubPubSub['deliver']>[0] {
    const data = Peer.encode({
      publicKey: publicKeyToProtobuf(from.publicKey) as Uint8Array<ArrayBuffer>,
      addrs: addrs.map(a => multiaddr(a).bytes as Uint8Array<ArrayBuffer>),
      peerRecords: []
    })
    return { type: 'signed', topic: TOPIC, data, from: peerIdFromPrivateKey(from) }
  }

  /** Answers each query when the test says */
  function heldDns (): { dns: DNS, queries: Array<{ name: string, answer(ip: string): void, signal?: AbortSignal }> } {
    const queries: Array<{ name: string, answer(ip: string): void, signal?: AbortSignal }> = []
    const dns: DNS = {
      query: async (name: string, options: QueryOptions = {}): Promise<DNSResponse> => new Promise((resolve, reject) => {
        options.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
        queries.push({
          name,
          signal: options.signal,
          answer: (ip) => { resolve({ Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [], Answer: [{ name, type: RecordType.A, data: ip, TTL: 60 }] }) }
        })
      })
    }
    return { dns, queries }
  }

  async function settle (): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await new Promise(resolve => setImmediate(resolve))
    }
  }

  afterEach(() => {
    discovery?.stop()
  })

  it('an announcement whose names resolve after a newer one of its author was handled is dropped', async () => {
    const { dns, queries } = heldDns()
    await create(dns)
    const key = await generateKeyPair('Ed25519')

    expect(pubsub.deliver(announcement(key, ['/dns4/old.example/tcp/1']))).to.equal('accept')
    expect(pubsub.deliver(announcement(key, ['/ip4/93.184.216.34/tcp/2']))).to.equal('accept')
    expect(emitted).to.deep.equal([['/ip4/93.184.216.34/tcp/2']])

    queries[0].answer('93.184.216.35')
    await settle()

    expect(emitted).to.deep.equal([['/ip4/93.184.216.34/tcp/2']])
  })

  it('stop() aborts the lookups in flight, and nothing is emitted after it', async () => {
    const { dns, queries } = heldDns()
    await create(dns)
    const key = await generateKeyPair('Ed25519')

    pubsub.deliver(announcement(key, ['/dns4/slow.example/tcp/1']))
    expect(queries).to.have.lengthOf(1)
    discovery.stop()
    await settle()

    expect(queries[0].signal?.aborted).to.equal(true)
    queries[0].answer('93.184.216.35')
    await settle()
    expect(emitted).to.deep.equal([])
  })
})
