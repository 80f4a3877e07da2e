/**
 * `connection:health` events come from `@x/health` or from anyone who
 * dispatches them on the event bus (issue 12, review): NaN, negative,
 * infinite or malformed figures are dropped and counted, huge ones clamped,
 * so no foreign event can make every timeout fire at once, overflow a timer
 * or take every stream under the latency strategy.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { HEALTH_RTT_CEILING, HEALTH_TIMEOUT_CEILING } from '../src/constants.ts'
import { createHarness } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

function snapshot (conn: Connection, rtt: number, adaptiveTimeout: number): any {
  return {
    peer: conn.remotePeer,
    connectionId: conn.id,
    score: 0.9,
    state: 'healthy',
    rtt: { last: rtt, ewma: rtt, min: rtt, p50: rtt, p95: rtt, samples: 5 },
    successRate: 1,
    stability: 1,
    limited: false,
    adaptiveTimeout,
    timestamp: Date.now()
  }
}

/** Every connection opens a stream after `ms` of (fake) time, unless the attempt's signal aborts first */
function slowStreams (harness: Harness, ms: number): void {
  for (const conn of harness.open) {
    (conn.newStream as sinon.SinonStub).callsFake(async (protocols: string[], options: { signal?: AbortSignal } = {}) => {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms)
        options.signal?.addEventListener('abort', () => { clearTimeout(timer); reject(options.signal?.reason) }, { once: true })
      })
      return { protocol: protocols[0], status: 'open' } as unknown as Stream
    })
  }
}

describe('foreign connection:health events', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  const invalid: Record<string, [rtt: number, adaptiveTimeout: number]> = {
    'NaN RTT and timeout': [NaN, NaN],
    'a negative RTT': [-1_000, 1_000],
    'a negative timeout': [50, -1],
    'an infinite RTT': [Infinity, 1_000],
    'an infinite timeout': [50, Infinity]
  }

  Object.entries(invalid).forEach(([name, [rtt, adaptiveTimeout]]) => {
    it(`drops and counts ${name}: timeouts stay as configured`, async () => {
      const harness = createHarness(peer, { streamOpenTimeout: 10_000, dialTimeout: 10_000 })
      await harness.pool.dial(peer)
      slowStreams(harness, 200)

      for (const conn of harness.open) {
        harness.events.safeDispatchEvent('connection:health', { detail: snapshot(conn, rtt, adaptiveTimeout) })
      }

      const result = harness.pool.newStream(peer, '/x/1.0.0')
      await clock.tickAsync(1_000)
      const stream = await result

      expect(stream).to.have.property('protocol', '/x/1.0.0')
      expect(harness.pool.getMetrics()).to.include({ streamFailures: 0, invalidHealthEvents: harness.open.length })
      await harness.pool.stop()
    })
  })

  it('clamps huge figures: a finite timeout that still lets a slow stream open, never an overflowing timer', async () => {
    const harness = createHarness(peer, { streamOpenTimeout: 10_000 })
    await harness.pool.dial(peer)
    slowStreams(harness, 5_000)

    for (const conn of harness.open) {
      // beyond 2^31 - 1 ms a timer fires after 1 ms
      harness.events.safeDispatchEvent('connection:health', { detail: snapshot(conn, 1e12, 1e12) })
    }

    const result = harness.pool.newStream(peer, '/x/1.0.0')
    await clock.tickAsync(6_000)
    expect(await result).to.have.property('protocol', '/x/1.0.0')
    expect(harness.pool.getMetrics()).to.include({ streamFailures: 0, invalidHealthEvents: 0 })

    // the figures kept are within the documented ceilings
    const health = harness.pool.getConnection(peer) != null ? (harness.pool as any).state.healthOf(harness.open[0].id) : undefined
    expect(health.rtt.ewma).to.equal(HEALTH_RTT_CEILING)
    expect(health.adaptiveTimeout).to.equal(HEALTH_TIMEOUT_CEILING)
    await harness.pool.stop()
  })

  it('a negative RTT does not take every stream under latency-based placement', async () => {
    const harness = createHarness(peer, { strategy: 'latency-based' })
    await harness.pool.dial(peer)
    const [liar, a, b] = harness.open
    harness.events.safeDispatchEvent('connection:health', { detail: snapshot(liar, -1_000, 1_000) })
    harness.events.safeDispatchEvent('connection:health', { detail: snapshot(a, 50, 1_000) })
    harness.events.safeDispatchEvent('connection:health', { detail: snapshot(b, 50, 1_000) })

    for (let i = 0; i < 6; i++) {
      await harness.pool.newStream(peer, '/x/1.0.0')
    }

    expect(harness.open.map(conn => (conn.newStream as sinon.SinonStub).callCount)).to.deep.equal([2, 2, 2])
    expect(harness.pool.getMetrics().invalidHealthEvents).to.equal(1)
    await harness.pool.stop()
  })

  it('an event naming a connection of another peer is dropped, not used for that connection', async () => {
    const harness = createHarness(peer, { strategy: 'latency-based' })
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await harness.pool.dial(peer)
    await harness.pool.dial(other)
    const [x, y, z] = harness.pool.getConnections(other)

    // legitimate figures for the other peer's connections ...
    harness.events.safeDispatchEvent('connection:health', { detail: snapshot(y, 50, 1_000) })
    harness.events.safeDispatchEvent('connection:health', { detail: snapshot(z, 50, 1_000) })
    // ... and one that claims to be about `peer` but names the other peer's connection
    harness.events.safeDispatchEvent('connection:health', { detail: { ...snapshot(x, 1, 1_000), peer } })

    for (let i = 0; i < 6; i++) {
      await harness.pool.newStream(other, '/x/1.0.0')
    }

    expect([x, y, z].map(conn => (conn.newStream as sinon.SinonStub).callCount)).to.deep.equal([2, 2, 2])
    expect(harness.pool.getMetrics().invalidHealthEvents).to.equal(1)
    await harness.pool.stop()
  })

  it('a zero adaptive timeout and RTT do not make every stream attempt time out at once', async () => {
    const harness = createHarness(peer, { streamOpenTimeout: 10_000 })
    await harness.pool.dial(peer)
    slowStreams(harness, 200)

    for (const conn of harness.open) {
      harness.events.safeDispatchEvent('connection:health', { detail: snapshot(conn, 0, 0) })
    }

    const result = harness.pool.newStream(peer, '/x/1.0.0').catch(err => err)
    await clock.tickAsync(1_000)

    expect(await result).to.have.property('protocol', '/x/1.0.0')
    expect(harness.pool.getMetrics().streamFailures).to.equal(0)
    await harness.pool.stop()
  })

  it('a closed event about no open connection of the peer does not set its timeouts', async () => {
    const harness = createHarness(peer, { streamOpenTimeout: 10_000 })
    await harness.pool.dial(peer)
    slowStreams(harness, 200)

    // about a connection the peer never had: only the state is checked for closed events
    harness.events.safeDispatchEvent('connection:health', { detail: { ...snapshot(harness.open[0], 1, 1), connectionId: 'conn-never-open', state: 'closed' } })

    const result = harness.pool.newStream(peer, '/x/1.0.0').catch(err => err)
    await clock.tickAsync(1_000)

    expect(await result).to.have.property('protocol', '/x/1.0.0')
    expect(harness.pool.getMetrics().streamFailures).to.equal(0)
    await harness.pool.stop()
  })

  it('drops malformed events (no detail, no peer id, wrong types) without throwing', async () => {
    const harness = createHarness(peer)
    await harness.pool.dial(peer)
    const conn = harness.open[0]
    const malformed: any[] = [
      null,
      'healthy',
      {},
      { ...snapshot(conn, 50, 1_000), peer: peer.toString() },
      { ...snapshot(conn, 50, 1_000), connectionId: 42 },
      { ...snapshot(conn, 50, 1_000), state: 'fine' },
      { ...snapshot(conn, 50, 1_000), score: NaN },
      { ...snapshot(conn, 50, 1_000), rtt: 'fast' },
      { ...snapshot(conn, 50, 1_000), rtt: { ewma: '50' } }
    ]

    for (const detail of malformed) {
      harness.events.safeDispatchEvent('connection:health', { detail })
    }
    await clock.tickAsync(10)

    expect(harness.pool.getMetrics().invalidHealthEvents).to.equal(malformed.length)
    expect(await harness.pool.newStream(peer, '/x/1.0.0')).to.have.property('protocol', '/x/1.0.0')
    await harness.pool.stop()
  })
})
