/**
 * stop() while dials are in flight leaves no connection behind (issue 12,
 * review item 5): libp2p may finish a dial after its signal aborted, and a
 * re-dial may be pending; whatever arrives after stop() is closed.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { FakeConnection, Harness } from './fixtures/harness.ts'
import type { Connection, PeerId } from '@libp2p/interface'

/** Dials that finish only when told, ignoring their signal as a slow libp2p dial may */
function lateDials (harness: Harness, peer: PeerId): { finish(): void, dialled: Connection[] } {
  const waiting: Array<() => void> = []
  const dialled: Connection[] = []

  harness.connectionManager.openConnection.callsFake(async () => {
    await new Promise<void>(resolve => { waiting.push(resolve) })
    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    dialled.push(conn)
    return conn
  })

  return { finish: () => { waiting.splice(0).forEach(resolve => { resolve() }) }, dialled }
}

describe('stop() with dials in flight', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  const calls: Record<string, (harness: Harness) => Promise<unknown>> = {
    'dial(peerId)': async harness => harness.pool.dial(peer),
    'newStream(peerId)': async harness => harness.pool.newStream(peer, '/x/1.0.0'),
    'dial(multiaddr without a peer id)': async harness => harness.pool.dial(multiaddr('/ip4/192.0.2.1/tcp/4001')),
    'newStream(multiaddr without a peer id)': async harness => harness.pool.newStream(multiaddr('/ip4/192.0.2.1/tcp/4001'), '/x/1.0.0')
  }

  Object.entries(calls).forEach(([name, call]) => {
    it(`${name}: a connection that arrives after stop() is closed, the call rejects by name`, async () => {
      const harness = createHarness(peer)
      const late = lateDials(harness, peer)

      const result = call(harness).catch(err => err)
      await clock.tickAsync(10)
      await harness.pool.stop()
      late.finish()
      await clock.tickAsync(10)

      expect(await result).to.have.property('name').that.is.oneOf(['AbortError', 'PoolNotStartedError'])
      expect(late.dialled.length).to.be.at.most(1)
      expect(late.dialled.every(conn => conn.status === 'closed')).to.be.true()
      expect(harness.open).to.have.lengthOf(0)
      expect(harness.pool.getMetrics()).to.include({ peers: 0, connections: 0 })
    })
  })

  it('start() while stop() is still closing: the peers the restarted pool took on stay managed', async () => {
    const harness = createHarness(peer)
    await harness.pool.dial(peer)

    // removing the tag of the stopped pool's peer takes a while
    let untagged = (): void => {}
    const untagging = new Promise<void>(resolve => { untagged = resolve })
    harness.peerStore.merge.callsFake(async () => { await untagging; return {} as any })

    const stopping = harness.pool.stop()
    harness.pool.start()
    await harness.pool.newStream(peer, '/x/1.0.0')
    untagged()
    await stopping

    expect(harness.pool.getStatus(peer)).to.equal('connected')
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(1)
    await harness.pool.stop()
    expect(harness.open).to.have.lengthOf(0)
  })

  it('a pending re-dial does not fire after stop()', async () => {
    const harness = createHarness(peer, { retry: { initialDelay: 1_000, maxDelay: 1_000, jitterFactor: 0 } })
    await harness.pool.dial(peer)
    await clock.tickAsync(2_000)
    ;(harness.open[0] as FakeConnection).drop()
    const calls = harness.connectionManager.openConnection.callCount

    await harness.pool.stop()
    await clock.tickAsync(60_000)

    expect(harness.connectionManager.openConnection.callCount).to.equal(calls)
    expect(harness.open).to.have.lengthOf(0)
  })
})
