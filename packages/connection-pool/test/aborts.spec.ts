/**
 * Aborts, timeouts, release() and stop() while work is in flight (issue 12,
 * items 3 to 6): a caller's abort rejects with the signal's reason and
 * changes no pool state; libp2p's own timeouts are retried; release() during
 * a dial leaves no tag and no connection; failover keeps working when the
 * caller passes a signal.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness, fakeConnection, hangUntilAborted } from './fixtures/harness.ts'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'

function abortError (message = 'aborted'): Error {
  return Object.assign(new Error(message), { name: 'AbortError' })
}

describe('aborts, timeouts, release and stop while work is in flight', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  describe('item 3: libp2p timeouts are not the caller aborting', () => {
    it('retries a dial that libp2p aborted on its own per-address timeout', async () => {
      const { pool, connectionManager } = createHarness(peer, { retry: { maxRetries: 3, initialDelay: 100, maxDelay: 100, jitterFactor: 0 } })
      // what libp2p's dial queue throws when its addressDialTimeout fires on the only address
      connectionManager.openConnection.rejects(abortError('The operation was aborted'))

      const result = pool.dial(peer).catch(err => err)
      await clock.tickAsync(1_000)
      const err = await result

      expect(err).to.have.property('name', 'PeerDialFailedError')
      expect(connectionManager.openConnection.callCount).to.equal(4)
      await pool.stop()
    })

    it('does not retry once the caller aborted', async () => {
      const { pool, connectionManager } = createHarness(peer, { retry: { maxRetries: 3, initialDelay: 100, maxDelay: 100, jitterFactor: 0 } })
      const controller = new AbortController()
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))

      const result = pool.dial(peer, { signal: controller.signal }).catch(err => err)
      await clock.tickAsync(10)
      controller.abort()
      await clock.tickAsync(1_000)

      expect(await result).to.equal(controller.signal.reason)
      expect(connectionManager.openConnection.callCount).to.equal(1)
      await pool.stop()
    })
  })

  describe('item 4: an aborted call changes no pool state and rejects with the reason', () => {
    it('first dial aborted: AbortError, no failed status, no tag change, nothing left behind', async () => {
      const { pool, connectionManager, statuses, tagChanges } = createHarness(peer)
      const controller = new AbortController()
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))

      const result = pool.dial(peer, { signal: controller.signal }).catch(err => err)
      await clock.tickAsync(10)
      controller.abort()
      const err = await result

      expect(err).to.equal(controller.signal.reason)
      expect(err).to.have.property('name', 'AbortError')
      expect(pool.getStatus(peer)).to.not.equal('failed')
      expect(statuses.map(s => s.status)).to.not.include('failed')
      expect(tagChanges).to.deep.equal([])
      expect(pool.getMetrics().peers).to.equal(0)

      // and nothing re-dials it behind the caller's back
      await clock.tickAsync(60_000)
      expect(connectionManager.openConnection.callCount).to.equal(1)
      await pool.stop()
    })

    it('abort during the back-off between retries rejects with the reason', async () => {
      const { pool, connectionManager, statuses } = createHarness(peer, { retry: { maxRetries: 3, initialDelay: 1_000, maxDelay: 1_000, jitterFactor: 0 } })
      const controller = new AbortController()
      connectionManager.openConnection.rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))

      const result = pool.dial(peer, { signal: controller.signal }).catch(err => err)
      await clock.tickAsync(500)
      controller.abort()
      const err = await result

      expect(err).to.equal(controller.signal.reason)
      expect(statuses.map(s => s.status)).to.not.include('failed')
      await pool.stop()
    })

    it('an aborted extra dial is not a refusal and does not lower the target', async () => {
      const { pool, connectionManager, open, events } = createHarness(peer)
      const controller = new AbortController()
      let calls = 0
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => {
        if (++calls === 2) {
          return hangUntilAborted(options)
        }
        const conn = fakeConnection(peer, open, events)
        open.push(conn)
        return conn
      })

      const result = pool.dial(peer, { signal: controller.signal }).catch(err => err)
      await clock.tickAsync(10)
      controller.abort()
      expect(await result).to.equal(controller.signal.reason)
      expect(pool.getMetrics().dialRefusals).to.equal(0)

      // a later dial still aims for maxConnectionsPerPeer
      expect(await pool.dial(peer)).to.have.lengthOf(3)
      await pool.stop()
    })

    it('an extra dial that times out is not a refusal and does not lower the target', async () => {
      const { pool, connectionManager, open, events } = createHarness(peer, { dialTimeout: 1_000 })
      let calls = 0
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => {
        if (++calls === 2) {
          return hangUntilAborted(options)
        }
        const conn = fakeConnection(peer, open, events)
        open.push(conn)
        return conn
      })

      const result = pool.dial(peer)
      await clock.tickAsync(1_500)
      const conns = await result
      expect(conns).to.have.length.within(1, 3)
      expect(pool.getMetrics().dialRefusals).to.equal(0)
      expect(await pool.dial(peer)).to.have.lengthOf(3)
      await pool.stop()
    })

    it('newStream aborted while dialling rejects with the reason, not NoConnectionAvailableError', async () => {
      const { pool, connectionManager } = createHarness(peer)
      const controller = new AbortController()
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))

      const result = pool.newStream(peer, '/x/1.0.0', { signal: controller.signal }).catch(err => err)
      await clock.tickAsync(10)
      controller.abort()

      expect(await result).to.equal(controller.signal.reason)
      await pool.stop()
    })

    it('newStream does not hide PoolLimitReachedError behind NoConnectionAvailableError', async () => {
      const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const { pool, connectionManager, open, events } = createHarness(peer, { maxConnections: 1 })
      connectionManager.openConnection.callsFake(async (p: any) => {
        const conn = fakeConnection(p, open, events)
        open.push(conn)
        return conn
      })
      await pool.dial(peer)

      const err = await pool.newStream(other, '/x/1.0.0').catch(e => e)
      expect(err).to.have.property('name', 'PoolLimitReachedError')
      await pool.stop()
    })

    it('stop() during a dial dispatches no status and sets no failed state afterwards', async () => {
      const { pool, connectionManager, statuses, tagChanges } = createHarness(peer)
      connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))

      const result = pool.dial(peer).catch(err => err)
      await clock.tickAsync(10)
      const before = statuses.length
      await pool.stop()
      const err = await result

      expect(err).to.have.property('name', 'AbortError')
      expect(statuses.slice(before).map(s => s.status)).to.not.include('failed')
      expect(tagChanges.filter(t => t)).to.deep.equal([])
    })
  })

  describe('item 5: release() during a dial', () => {
    it('leaves no tag and closes the connection the dial brings back', async () => {
      const { pool, connectionManager, open, events, tagChanges } = createHarness(peer)
      let finish: (() => void) | undefined
      let dialled: Connection | undefined
      connectionManager.openConnection.callsFake(async () => {
        // the dial completes after release(), ignoring the abort, as a handshake in its last step may
        await new Promise<void>(resolve => { finish = resolve })
        const conn = fakeConnection(peer, open, events)
        open.push(conn)
        dialled = conn
        return conn
      })

      const result = pool.dial(peer).catch(err => err)
      await clock.tickAsync(10)
      await pool.release(peer)
      finish?.()
      await clock.tickAsync(10)
      await result

      expect(dialled?.status).to.equal('closed')
      expect(tagChanges.at(-1) ?? false).to.equal(false)
      expect(pool.getStatus(peer)).to.equal(undefined)
      expect(pool.getMetrics().peers).to.equal(0)
      await pool.stop()
    })
  })

  describe('stop() while learning the peer of an address without a peer id', () => {
    it('closes the connection it dialled and rejects with PoolNotStartedError', async () => {
      const { pool, connectionManager, open, events } = createHarness(peer)
      let finish: (() => void) | undefined
      let dialled: Connection | undefined
      connectionManager.openConnection.callsFake(async () => {
        await new Promise<void>(resolve => { finish = resolve })
        dialled = fakeConnection(peer, open, events)
        open.push(dialled)
        return dialled
      })

      const result = pool.dial(multiaddr('/ip4/127.0.0.1/tcp/4001')).catch(err => err)
      await clock.tickAsync(10)
      await pool.stop()
      finish?.()
      await clock.tickAsync(10)

      expect(await result).to.have.property('name', 'PoolNotStartedError')
      expect(dialled?.status).to.equal('closed')
      expect(pool.getMetrics().peers).to.equal(0)
    })
  })

  describe('item 6: failover with a caller signal', () => {
    it('times a stuck connection out and fails over while the caller signal is still live', async () => {
      const { pool, connectionManager, open, events } = createHarness(peer, { streamOpenTimeout: 1_000, strategy: 'round-robin' })
      await pool.dial(peer)
      const [stuck] = open
      ;(stuck.newStream as sinon.SinonStub).callsFake(async (_protocols: string[], options?: AbortOptions) => hangUntilAborted(options))
      expect(pool.getConnection(peer)).to.equal(stuck)
      void connectionManager
      void events

      const controller = new AbortController()
      let settled = false
      const result = pool.newStream(peer, '/x/1.0.0', { signal: controller.signal }).finally(() => { settled = true })
      await clock.tickAsync(1_100)

      expect(settled).to.be.true()
      const stream = await result
      expect(stream).to.have.property('protocol', '/x/1.0.0')
      expect(pool.getMetrics().failovers).to.equal(1)
      await pool.stop()
    })
  })
})
