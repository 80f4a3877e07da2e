/**
 * Addresses without a peer id (issue 12, review of item 0): concurrent
 * calls for the same addresses share one dial to learn the peer, each
 * caller's signal is its own, a failed dial is a named error, the shared
 * dials are bounded, and stop() aborts them.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { MAX_LEARNING_DIALS } from '../src/constants.ts'
import { createHarness, fakeConnection, hangUntilAborted } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const ADDR = multiaddr('/ip4/192.0.2.1/tcp/4001')

/** Whether a connection manager call dials addresses without a peer id (a learning dial) */
function isLearning (target: unknown): boolean {
  const list = (Array.isArray(target) ? target : [target]) as Multiaddr[]

  return list.every(ma => typeof ma?.toString === 'function' && !ma.toString().includes('/p2p/'))
}

function learningCalls (harness: Harness): number {
  return harness.connectionManager.openConnection.getCalls().filter(call => isLearning(call.args[0])).length
}

/** Learning dials wait for `release()`; the caller's abort rejects them; dials by peer succeed at once */
function gatedLearning (harness: Harness, peer: PeerId): { release(): void, signals: AbortSignal[] } {
  const waiting: Array<() => void> = []
  const signals: AbortSignal[] = []

  harness.connectionManager.openConnection.callsFake(async (target: any, options?: AbortOptions) => {
    if (isLearning(target)) {
      if (options?.signal != null) {
        signals.push(options.signal)
      }

      await new Promise<void>((resolve, reject) => {
        waiting.push(resolve)
        options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
      })
    }

    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    harness.events.safeDispatchEvent('connection:open', { detail: conn })
    return conn
  })

  return { release: () => { waiting.splice(0).forEach(resolve => { resolve() }) }, signals }
}

describe('learning the peer of addresses without a peer id', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('concurrent dial() and newStream() calls for one address share one learning dial', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 3 })
    const gate = gatedLearning(harness, peer)

    const calls = Promise.all([
      harness.pool.dial(ADDR),
      harness.pool.dial(ADDR),
      harness.pool.dial([ADDR]),
      harness.pool.newStream(ADDR, '/x/1.0.0')
    ])
    await clock.tickAsync(10)
    gate.release()
    await clock.tickAsync(10)
    const [a, b, c] = await calls

    expect(learningCalls(harness)).to.equal(1)
    expect(harness.connectionManager.openConnection.callCount).to.equal(3)
    expect(harness.open).to.have.lengthOf(3)
    expect(a).to.have.lengthOf(3)
    expect(b).to.have.lengthOf(3)
    expect(c).to.have.lengthOf(3)
    expect(harness.pool.getMetrics()).to.include({ peers: 1, dialAttempts: 3, dialSuccesses: 3 })
    await harness.pool.stop()
  })

  it('a failed learning dial is PeerDialFailedError from dial() and NoConnectionAvailableError from newStream(), one dial for all', async () => {
    const harness = createHarness(peer)
    harness.connectionManager.openConnection.callsFake(async () => {
      await Promise.resolve()
      throw Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:4001'), { code: 'ECONNREFUSED' })
    })

    const results = await Promise.all([
      harness.pool.dial(ADDR).catch(err => err),
      harness.pool.dial(ADDR).catch(err => err),
      harness.pool.newStream(ADDR, '/x/1.0.0').catch(err => err)
    ])

    expect(results.map(err => err.name)).to.deep.equal(['PeerDialFailedError', 'PeerDialFailedError', 'NoConnectionAvailableError'])
    expect(results[0].cause).to.have.property('code', 'ECONNREFUSED')
    expect(results[2].cause).to.have.property('name', 'PeerDialFailedError')
    expect(harness.connectionManager.openConnection.callCount).to.equal(1)
    expect(harness.pool.getMetrics()).to.include({ peers: 0, dialAttempts: 1, dialFailures: 1 })

    // settled: the next call dials again
    await harness.pool.dial(ADDR).catch(err => err)
    expect(harness.connectionManager.openConnection.callCount).to.equal(2)
    await harness.pool.stop()
  })

  it('one caller aborting leaves the shared dial to the others; all aborting aborts it', async () => {
    const harness = createHarness(peer, { maxConnectionsPerPeer: 1 })
    const gate = gatedLearning(harness, peer)
    const first = new AbortController()
    const second = new AbortController()

    const a = harness.pool.dial(ADDR, { signal: first.signal }).catch(err => err)
    const b = harness.pool.dial(ADDR, { signal: second.signal }).catch(err => err)
    const c = harness.pool.dial(ADDR)
    await clock.tickAsync(10)
    first.abort()

    expect(await a).to.equal(first.signal.reason)
    expect(gate.signals).to.have.lengthOf(1)
    expect(gate.signals[0].aborted).to.be.false()

    gate.release()
    const [conns, other] = await Promise.all([c, b])
    expect(conns).to.have.lengthOf(1)
    expect(other).to.have.lengthOf(1)
    expect(learningCalls(harness)).to.equal(1)
    await harness.pool.stop()

    // every caller gone: the shared dial is aborted and forgotten
    const again = createHarness(peer)
    const gate2 = gatedLearning(again, peer)
    const x = new AbortController()
    const y = new AbortController()
    const rx = again.pool.dial(ADDR, { signal: x.signal }).catch(err => err)
    const ry = again.pool.newStream(ADDR, '/x/1.0.0', { signal: y.signal }).catch(err => err)
    await clock.tickAsync(10)
    x.abort()
    await clock.tickAsync(10)
    expect(gate2.signals[0].aborted).to.be.false()
    y.abort()

    expect(await rx).to.equal(x.signal.reason)
    expect(await ry).to.equal(y.signal.reason)
    expect(gate2.signals[0].aborted).to.be.true()
    expect(again.open).to.have.lengthOf(0)
    expect(again.pool.getMetrics().peers).to.equal(0)

    // a new call after that starts a new dial
    const late = again.pool.dial(ADDR)
    await clock.tickAsync(10)
    expect(learningCalls(again)).to.equal(2)
    gate2.release()
    expect(await late).to.have.lengthOf(3)
    await again.pool.stop()
  })

  it('a learning dial that completes after every caller aborted is closed', async () => {
    const harness = createHarness(peer)
    const late: Connection[] = []
    let finish: (() => void) | undefined
    harness.connectionManager.openConnection.callsFake(async () => {
      // libp2p may finish a dial whose signal aborted
      await new Promise<void>(resolve => { finish = resolve })
      const conn = fakeConnection(peer, harness.open, harness.events)
      harness.open.push(conn)
      late.push(conn)
      return conn
    })
    const controller = new AbortController()

    const result = harness.pool.dial(ADDR, { signal: controller.signal }).catch(err => err)
    await clock.tickAsync(10)
    controller.abort()
    expect(await result).to.equal(controller.signal.reason)
    finish?.()
    await clock.tickAsync(10)

    expect(late).to.have.lengthOf(1)
    expect(late[0].status).to.equal('closed')
    expect(harness.open).to.have.lengthOf(0)
    await harness.pool.stop()
  })

  it('stop() aborts learning dials under way', async () => {
    const harness = createHarness(peer)
    const signals: AbortSignal[] = []
    harness.connectionManager.openConnection.callsFake(async (_target: any, options?: AbortOptions) => {
      signals.push(options?.signal as AbortSignal)
      return hangUntilAborted(options)
    })

    const result = harness.pool.dial(ADDR).catch(err => err)
    await clock.tickAsync(10)
    await harness.pool.stop()
    const err = await result

    expect(signals).to.have.lengthOf(1)
    expect(signals[0].aborted).to.be.true()
    expect(err).to.have.property('name', 'PoolNotStartedError')
  })

  it(`at most ${MAX_LEARNING_DIALS} learning dials at once; more get PoolLimitReachedError without dialling`, async () => {
    const harness = createHarness(peer)
    harness.connectionManager.openConnection.callsFake(async (_target: any, options?: AbortOptions) => hangUntilAborted(options))

    const pending = Array.from({ length: MAX_LEARNING_DIALS }, (_, i) => harness.pool.dial(multiaddr(`/ip4/192.0.2.1/tcp/${1000 + i}`)).catch(err => err))
    await clock.tickAsync(10)
    expect(harness.connectionManager.openConnection.callCount).to.equal(MAX_LEARNING_DIALS)

    const err = await harness.pool.dial(multiaddr('/ip4/192.0.2.2/tcp/1')).catch(err => err)
    expect(err).to.have.property('name', 'PoolLimitReachedError')
    expect(harness.connectionManager.openConnection.callCount).to.equal(MAX_LEARNING_DIALS)

    await harness.pool.stop()
    await Promise.all(pending)
  })
})
