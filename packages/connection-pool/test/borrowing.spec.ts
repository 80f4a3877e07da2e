/**
 * Kept and borrowed peers (issue 12, item 2): `dial()` keeps a peer (tagged,
 * re-dialled, held until `release()`); `newStream()` to a peer the pool does
 * not keep only borrows it: no tag, no re-dials, released after
 * `idleTimeout`, and at `maxPeers` the least recently used idle borrowed
 * peer makes room.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness } from './fixtures/harness.ts'
import type { FakeConnection } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('kept and borrowed peers', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = await newPeer()
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('newStream to more than maxPeers distinct idle peers evicts the least recently used', async () => {
    const { pool, open } = createHarness(peer, { maxPeers: 2 })
    const peers = [await newPeer(), await newPeer(), await newPeer(), await newPeer()]

    for (const p of peers) {
      await pool.newStream(p, '/x/1.0.0')
      await clock.tickAsync(10)
    }

    expect(pool.getMetrics().peers).to.equal(2)
    expect(pool.getStatus(peers[0])).to.equal(undefined)
    expect(pool.getStatus(peers[1])).to.equal(undefined)
    expect(pool.getStatus(peers[3])).to.equal('connected')
    // the connections the pool opened for the evicted peers are closed
    expect(open.map(c => c.remotePeer.toString()).sort()).to.deep.equal([peers[2], peers[3]].map(String).sort())
    await pool.stop()
  })

  it('at maxPeers with every peer busy or kept, newStream to a new peer throws PoolLimitReachedError', async () => {
    const { pool, open } = createHarness(peer, { maxPeers: 2 })
    const kept = await newPeer()
    const busy = await newPeer()
    await pool.dial(kept)
    await pool.newStream(busy, '/x/1.0.0')
    open.filter(c => c.remotePeer.equals(busy)).forEach(c => c.streams.push({} as any))

    const err = await pool.newStream(await newPeer(), '/x/1.0.0').catch(e => e)
    expect(err).to.have.property('name', 'PoolLimitReachedError')
    await pool.stop()
  })

  it('a borrowed peer is not tagged, not re-dialled, and released after idleTimeout', async () => {
    const { pool, connectionManager, open, tagChanges } = createHarness(peer, { idleTimeout: 60_000, maintenanceInterval: 10_000 })
    const borrowed = await newPeer()
    await pool.newStream(borrowed, '/x/1.0.0')
    expect(connectionManager.openConnection.callCount).to.equal(1)
    expect(tagChanges).to.deep.equal([])
    expect(pool.getStatus(borrowed)).to.equal('connected')

    await clock.tickAsync(30_000)
    expect(pool.getStatus(borrowed)).to.equal('connected')
    await clock.tickAsync(40_000)
    expect(pool.getStatus(borrowed)).to.equal(undefined)
    expect(open).to.have.lengthOf(0)

    // a borrowed connection closing is not re-dialled
    await pool.newStream(borrowed, '/x/1.0.0')
    ;(open[0] as FakeConnection).drop()
    await clock.tickAsync(30_000)
    expect(connectionManager.openConnection.callCount).to.equal(2)
    await pool.stop()
  })

  it('dial() keeps a borrowed peer: tagged and topped up to maxConnectionsPerPeer', async () => {
    const { pool, tagChanges } = createHarness(peer, { idleTimeout: 60_000, maintenanceInterval: 10_000 })
    await pool.newStream(peer, '/x/1.0.0')
    expect(await pool.dial(peer)).to.have.lengthOf(3)
    expect(tagChanges).to.include(true)

    await clock.tickAsync(600_000)
    expect(pool.getStatus(peer)).to.equal('connected')
    expect(pool.getConnections(peer)).to.have.lengthOf(1)
    await pool.stop()
  })
})
