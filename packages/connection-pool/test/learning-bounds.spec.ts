/**
 * Review of the shared learning dial (issue 12, item 0): a connection
 * dialled to learn the peer of an address without a peer id is still a
 * connection to that peer, so it is bound by `maxConnectionsPerPeer` and
 * `maxConnections` like every other the pool opens. The address a caller
 * gives need not be the `remoteAddr` of the open connections (another
 * spelling: `/dns4/` and `/ip4/`, a second listen address, a resolved
 * `/dnsaddr/`), so the open-connection lookup cannot be the only bound.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { MAX_ADDRESS_SPELLINGS } from '../src/constants.ts'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { Connection, PeerId } from '@libp2p/interface'

const KNOWN = multiaddr('/ip4/192.0.2.1/tcp/4001')
const OTHER_SPELLING = multiaddr('/dns4/peer.example.com/tcp/4001')

/** Every dial reaches `peer`; the connection's remote address is the known one */
function dialsReachPeer (harness: Harness, peer: PeerId): void {
  harness.connectionManager.openConnection.callsFake(async () => {
    const conn: Connection = fakeConnection(peer, harness.open, harness.events)
    Object.assign(conn, { remoteAddr: KNOWN.encapsulate(`/p2p/${peer}`) })
    harness.open.push(conn)
    harness.events.safeDispatchEvent('connection:open', { detail: conn })
    return conn
  })
}

describe('learning dials and the connection limits', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('dial() by another spelling of the address of a peer at maxConnectionsPerPeer leaves it at maxConnectionsPerPeer', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2 })
    dialsReachPeer(harness, peer)

    await harness.pool.dial(peer)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(2)

    for (let i = 0; i < 3; i++) {
      const conns = await harness.pool.dial(OTHER_SPELLING)
      expect(conns).to.have.lengthOf(2)
    }

    expect(harness.open.filter(c => c.status === 'open')).to.have.lengthOf(2)
    await harness.pool.stop()
  })

  it('newStream() by another spelling of the address of a peer at maxConnectionsPerPeer opens no extra connection', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 1 })
    dialsReachPeer(harness, peer)

    await harness.pool.newStream(peer, '/x/1')

    for (let i = 0; i < 3; i++) {
      await harness.pool.newStream(OTHER_SPELLING, '/x/1')
    }

    expect(harness.open.filter(c => c.status === 'open')).to.have.lengthOf(1)
    await harness.pool.stop()
  })

  it('calls by an address the pool learned a connected peer at do not dial to learn it again', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2 })
    dialsReachPeer(harness, peer)

    for (let i = 0; i < 3; i++) {
      expect(await harness.pool.dial(OTHER_SPELLING)).to.have.lengthOf(2)
      await harness.pool.newStream(OTHER_SPELLING, '/x/1')
    }

    const learning = harness.connectionManager.openConnection.getCalls()
      .filter(call => Array.isArray(call.args[0]) && call.args[0].every((ma: any) => !ma.toString().includes('/p2p/')))
    expect(learning).to.have.lengthOf(1)
    expect(harness.connectionManager.openConnection.callCount).to.equal(2)
    await harness.pool.stop()
  })

  it('calls alternating between two spellings of a connected peer\'s address learn each spelling once', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2 })
    dialsReachPeer(harness, peer)
    const THIRD_SPELLING = multiaddr('/dns4/alias.example.com/tcp/4001')

    for (let i = 0; i < 4; i++) {
      expect(await harness.pool.dial(OTHER_SPELLING)).to.have.lengthOf(2)
      expect(await harness.pool.dial(THIRD_SPELLING)).to.have.lengthOf(2)
      await harness.pool.newStream(OTHER_SPELLING, '/x/1')
    }

    const learning = harness.connectionManager.openConnection.getCalls()
      .filter(call => Array.isArray(call.args[0]) && call.args[0].every((ma: any) => !ma.toString().includes('/p2p/')))
    expect(learning).to.have.lengthOf(2)
    await harness.pool.stop()
  })

  it(`remembers at most ${MAX_ADDRESS_SPELLINGS} spellings per peer, the oldest forgotten first`, async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 1 })
    dialsReachPeer(harness, peer)
    const spellings = Array.from({ length: MAX_ADDRESS_SPELLINGS + 1 }, (_, i) => multiaddr(`/dns4/alias${i}.example.com/tcp/4001`))
    const learningDials = (): number => harness.connectionManager.openConnection.getCalls()
      .filter(call => Array.isArray(call.args[0]) && call.args[0].every((ma: any) => !ma.toString().includes('/p2p/'))).length

    for (const ma of spellings) {
      await harness.pool.dial(ma)
    }
    expect(learningDials()).to.equal(spellings.length)

    await harness.pool.dial(spellings[spellings.length - 1])
    expect(learningDials()).to.equal(spellings.length)

    await harness.pool.dial(spellings[0])
    expect(learningDials()).to.equal(spellings.length + 1)
    await harness.pool.stop()
  })

  it('an address that answered as another peer since is no longer a spelling of the first: calls by it reach the peer that answers there now', async () => {
    // the service at OTHER_SPELLING restarted with a new identity; the old
    // peer is still connected (it moved, and dialled us)
    const moved = peer
    const successor = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    let answering = moved
    const harness = createHarness(moved, { maxConnectionsPerPeer: 1 })
    harness.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(answering, harness.open, harness.events)
      harness.open.push(conn)
      harness.events.safeDispatchEvent('connection:open', { detail: conn })
      return conn
    })

    await harness.pool.newStream(OTHER_SPELLING, '/x/1')
    expect(harness.pool.getConnections(moved)).to.have.lengthOf(1)
    ;(harness.open[0] as any).drop()

    answering = successor
    await harness.pool.newStream(OTHER_SPELLING, '/x/1')
    const successorConn = harness.pool.getConnections(successor)[0] as any
    expect(successorConn).to.exist()

    const inbound = fakeConnection(moved, harness.open, harness.events)
    harness.open.push(inbound)
    harness.events.safeDispatchEvent('connection:open', { detail: inbound })

    for (let i = 0; i < 3; i++) {
      await harness.pool.newStream(OTHER_SPELLING, '/x/1')
      expect(await harness.pool.dial(OTHER_SPELLING)).to.deep.equal([successorConn])
    }

    expect((inbound.newStream as sinon.SinonStub).callCount).to.equal(0)
    expect((successorConn.newStream as sinon.SinonStub).callCount).to.equal(4)
    await harness.pool.stop()
  })

  it('bookkeepingBytes counts the caller\'s addresses and the spellings a peer remembers', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 1 })
    dialsReachPeer(harness, peer)
    await harness.pool.dial(peer)
    const byId = harness.pool.getMetrics().bookkeepingBytes

    // the same peer, one connection, now also known by 8 addresses without its id
    const spellings = Array.from({ length: MAX_ADDRESS_SPELLINGS }, (_, i) => multiaddr(`/dns4/alias${i}.example.com/tcp/4001`))
    await harness.pool.dial(spellings)
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(1)

    // a Multiaddr held in entry.addrs measures about 2 KB of heap, a spelling about 100 bytes
    expect(harness.pool.getMetrics().bookkeepingBytes - byId).to.be.at.least(spellings.length * 1_024)
    await harness.pool.stop()
  })

  it('at maxConnections a learning dial is not made (PoolLimitReachedError, counted)', async () => {
    const harness = createHarness(peer, { maxConnections: 1, maxConnectionsPerPeer: 1 })
    dialsReachPeer(harness, peer)
    await harness.pool.dial(peer)
    const calls = harness.connectionManager.openConnection.callCount

    const err = await harness.pool.dial(multiaddr('/ip4/192.0.2.9/tcp/4001')).catch(err => err)
    expect(err).to.have.property('name', 'PoolLimitReachedError')
    expect(harness.connectionManager.openConnection.callCount).to.equal(calls)
    expect(harness.pool.getMetrics().limitedDials).to.equal(1)
    await harness.pool.stop()
  })
})

describe('an abort right after the learning dial resolved', () => {
  let peer: PeerId

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('dial(address without a peer id) rejects with the reason and keeps no peer', async () => {
    const harness = createHarness(peer)
    dialsReachPeer(harness, peer)
    const controller = new AbortController()

    // the caller aborts once the learning dial has brought the connection
    // (the pool's first status event for the peer), before the call goes on
    harness.events.addEventListener('pool:status', () => { controller.abort() }, { once: true })

    try {
      const err = await harness.pool.dial(multiaddr('/ip4/192.0.2.7/tcp/4001'), { signal: controller.signal }).catch(err => err)

      expect(err).to.equal(controller.signal.reason)
      expect(harness.pool.getMetrics().keptPeers).to.equal(0)
      expect(harness.tagChanges).to.deep.equal([])
    } finally {
      await harness.pool.stop()
    }
  })
})
