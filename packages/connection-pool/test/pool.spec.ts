import { expect } from 'aegir/chai'
import { COUNT_PROTOCOL, createClient, createRemote, echoOver, waitUntil } from './fixtures/nodes.ts'
import type { Remote } from './fixtures/nodes.ts'
import type { ConnectionPool, ConnectionPoolInit } from '../src/index.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { ConnectionHealthSnapshot, PoolStatusChange, PoolStreamOutcome } from '@x/interface'

const ECHO = '/echo/1.0.0'

describe('connection pool with real nodes', function () {
  this.timeout(60_000)
  let remote: Remote
  let client: Libp2p<{ pool: ConnectionPool }>
  let remotePeer: PeerId

  async function start (init: ConnectionPoolInit = {}): Promise<void> {
    client = await createClient(init)
    await client.start()
    await client.peerStore.merge(remotePeer, { multiaddrs: remote.node.getMultiaddrs() })
  }

  beforeEach(async () => {
    remote = await createRemote()
    await remote.node.start()
    remotePeer = remote.node.peerId
  })

  afterEach(async () => {
    await client?.stop()
    await remote?.node.stop()
  })

  function snapshot (conn: Connection, score: number, rtt?: number): ConnectionHealthSnapshot {
    return {
      peer: remotePeer,
      connectionId: conn.id,
      score,
      state: 'healthy',
      rtt: rtt == null ? undefined : { last: rtt, ewma: rtt, min: rtt, p50: rtt, p95: rtt, samples: 10 },
      successRate: 1,
      stability: 1,
      limited: false,
      adaptiveTimeout: 5_000,
      timestamp: Date.now()
    }
  }

  // what @x/health does: dispatch on the internal event bus that services share
  function healthEvent (init: { detail: ConnectionHealthSnapshot }): void {
    (client as any).components.events.safeDispatchEvent('connection:health', init)
  }

  async function countStreams (n: number): Promise<number[]> {
    remote.streamsPerConnection.clear()
    for (let i = 0; i < n; i++) {
      const stream = await client.services.pool.newStream(remotePeer, COUNT_PROTOCOL)
      await stream.close()
    }
    await waitUntil(() => [...remote.streamsPerConnection.values()].reduce((a, b) => a + b, 0) === n)
    return [...remote.streamsPerConnection.values()].sort((a, b) => a - b)
  }

  it('opens 3 connections to a peer and keeps them', async () => {
    await start()
    const statuses: string[] = []
    client.addEventListener('pool:status', (evt: CustomEvent<PoolStatusChange>) => { statuses.push(evt.detail.status) })

    const conns = await client.services.pool.dial(remotePeer)
    expect(conns).to.have.lengthOf(3)
    expect(new Set(conns.map(c => c.id)).size).to.equal(3)
    await waitUntil(() => remote.node.getConnections(client.peerId).length === 3)
    expect(client.services.pool.getStatus(remotePeer)).to.equal('connected')
    expect(statuses).to.deep.equal(['connecting', 'connected'])

    // dialling again opens nothing new
    expect(await client.services.pool.dial(remotePeer)).to.have.lengthOf(3)
    expect(client.services.pool.getMetrics()).to.include({ peers: 1, connections: 3, dialSuccesses: 3 })
    expect(client.services.pool.getConnectionsMap().get(remotePeer)).to.have.lengthOf(3)
  })

  it('round-robin spreads 300 streams 100/100/100', async () => {
    await start({ strategy: 'round-robin' })
    await client.services.pool.dial(remotePeer)

    expect(await countStreams(300)).to.deep.equal([100, 100, 100])
    expect(client.services.pool.getMetrics().streamsOpened).to.equal(300)
  })

  it('least-loaded follows open streams', async () => {
    await start({ strategy: 'least-loaded' })
    const [a, b, c] = await client.services.pool.dial(remotePeer)

    // hold two echo streams on a and one on b; c is empty
    const held = [await a.newStream(ECHO), await a.newStream(ECHO), await b.newStream(ECHO)]
    expect(client.services.pool.getConnection(remotePeer)?.id).to.equal(c.id)
    const stream = await client.services.pool.newStream(remotePeer, ECHO)
    expect(c.streams).to.include(stream)

    // now b and c hold one each: a new stream goes to one of them, not a
    const next = await client.services.pool.newStream(remotePeer, ECHO)
    expect(a.streams).to.not.include(next)
    await Promise.all([...held, stream, next].map(async s => s.close()))
  })

  it('health-based follows injected health events, and spreads when scores tie', async () => {
    await start({ strategy: 'health-based' })
    const [a, b, c] = await client.services.pool.dial(remotePeer)
    const byLocal = async (n: number): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {}
      for (let i = 0; i < n; i++) {
        const stream = await client.services.pool.newStream(remotePeer, COUNT_PROTOCOL)
        const id = [a, b, c].find(conn => conn.streams.includes(stream))?.id ?? 'gone'
        counts[id] = (counts[id] ?? 0) + 1
        await stream.close()
      }
      return counts
    }

    healthEvent({ detail: snapshot(a, 0.4) })
    healthEvent({ detail: snapshot(b, 0.95) })
    healthEvent({ detail: snapshot(c, 0.5) })
    expect(await byLocal(30)).to.deep.equal({ [b.id]: 30 })

    // a and b within the tolerance: both share the load
    healthEvent({ detail: snapshot(a, 0.94) })
    const counts = await byLocal(30)
    expect(counts[a.id]).to.be.at.least(10)
    expect(counts[b.id]).to.be.at.least(10)
    expect(counts[c.id]).to.equal(undefined)
  })

  it('latency-based follows injected RTTs', async () => {
    await start({ strategy: 'latency-based' })
    const [a, b, c] = await client.services.pool.dial(remotePeer)
    healthEvent({ detail: snapshot(a, 1, 150) })
    healthEvent({ detail: snapshot(b, 1, 12) })
    healthEvent({ detail: snapshot(c, 1, 90) })

    for (let i = 0; i < 20; i++) {
      expect(client.services.pool.getConnection(remotePeer)?.id).to.equal(b.id)
      const stream = await client.services.pool.newStream(remotePeer, COUNT_PROTOCOL)
      expect(b.streams.includes(stream) || stream.status !== 'open').to.be.true()
      await stream.close()
    }
  })

  it('replaces a connection aborted by the remote while a request loop loses no request', async () => {
    await start({ retry: { initialDelay: 50, maxDelay: 200 }, reportStreams: true })
    await client.services.pool.dial(remotePeer)
    const outcomes: PoolStreamOutcome[] = []
    client.addEventListener('pool:stream', (evt) => { outcomes.push(evt.detail) })

    const payload = new Uint8Array(1024).fill(7)
    let completed = 0
    let retried = 0
    const running = { stop: false }

    const loop = (async () => {
      while (!running.stop) {
        // a request in flight on the killed connection is retried once through
        // the pool, which by then places it on a live connection
        for (let attempt = 0; ; attempt++) {
          try {
            const stream = await client.services.pool.newStream(remotePeer, ECHO)
            const echoed = await echoOver(stream, payload)
            expect(echoed).to.deep.equal(payload)
            completed++
            break
          } catch (err) {
            if (attempt >= 1) { throw err }
            retried++
          }
        }
      }
    })()

    await waitUntil(() => completed > 50)
    const victim = remote.node.getConnections(client.peerId)[0]
    victim.abort(new Error('killed by the test'))

    await waitUntil(() => client.services.pool.getConnections(remotePeer).length === 3 && completed > 200, 20_000)
    running.stop = true
    await loop

    expect(retried).to.be.at.most(1)
    await waitUntil(() => remote.node.getConnections(client.peerId).length === 3)
    expect(client.services.pool.getMetrics().dialSuccesses).to.equal(4)
    expect(outcomes.filter(o => o.outcome === 'opened').length).to.be.at.least(completed)
  })

  it('fails over to the next connection when the chosen one is closed', async () => {
    await start({ strategy: 'round-robin' })
    const conns = await client.services.pool.dial(remotePeer)
    const next = client.services.pool.getConnection(remotePeer)!
    // break the chosen connection's muxer without letting the pool hear about it first
    next.abort(new Error('gone'))
    const stream = await client.services.pool.newStream(remotePeer, COUNT_PROTOCOL)
    expect(conns.filter(c => c !== next).some(c => c.streams.includes(stream))).to.be.true()
    await stream.close()
  })

  it('honours maxConnections across peers and counts the dials it did not make', async () => {
    const second = await createRemote()
    await second.node.start()

    try {
      await start({ maxConnections: 4 })
      await client.peerStore.merge(second.node.peerId, { multiaddrs: second.node.getMultiaddrs() })
      expect(await client.services.pool.dial(remotePeer)).to.have.lengthOf(3)
      expect(await client.services.pool.dial(second.node.peerId)).to.have.lengthOf(1)
      expect(client.services.pool.getConnections()).to.have.lengthOf(4)
      expect(client.services.pool.getMetrics().limitedDials).to.be.at.least(1)
      expect(client.services.pool.getMetrics().dialRefusals).to.equal(0)
    } finally {
      await second.node.stop()
    }
  })

  it('closes surplus connections that stay idle, keeping the minimum', async () => {
    await start({ idleTimeout: 300, maintenanceInterval: 100, minConnectionsPerPeer: 1 })
    await client.services.pool.dial(remotePeer)
    await waitUntil(() => client.services.pool.getConnections(remotePeer).length === 1, 10_000)

    // and it stays at the minimum rather than re-dialling
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(client.services.pool.getConnections(remotePeer)).to.have.lengthOf(1)
  })

  it('tags pooled peers and untags released ones, closing only what it opened', async () => {
    await start()
    const outside = await client.dial(remote.node.getMultiaddrs()[0])
    await client.services.pool.dial(remotePeer)
    const tags = (await client.peerStore.get(remotePeer)).tags
    expect(tags.get('x-connection-pool')?.value).to.equal(100)
    // the pool adopted the outside connection and opened two more
    expect(client.services.pool.getConnections(remotePeer)).to.have.lengthOf(3)

    await client.services.pool.release(remotePeer)
    expect((await client.peerStore.get(remotePeer)).tags.has('x-connection-pool')).to.be.false()
    await waitUntil(() => client.getConnections(remotePeer).length === 1)
    expect(client.getConnections(remotePeer)[0].id).to.equal(outside.id)
    expect(client.services.pool.getStatus(remotePeer)).to.equal(undefined)
  })

  it('a peer first used through a connection opened elsewhere is borrowed: connected, untagged, nothing dialled', async () => {
    await start()
    await client.dial(remote.node.getMultiaddrs()[0])
    const stream = await client.services.pool.newStream(remotePeer, COUNT_PROTOCOL)
    await stream.close()

    expect(client.services.pool.getStatus(remotePeer)).to.equal('connected')
    expect((await client.peerStore.get(remotePeer)).tags.has('x-connection-pool')).to.be.false()
    expect(client.services.pool.getMetrics()).to.include({ dialAttempts: 0, peers: 1, keptPeers: 0 })

    // dial() keeps it: tagged
    await client.services.pool.dial(remotePeer)
    expect((await client.peerStore.get(remotePeer)).tags.get('x-connection-pool')?.value).to.equal(100)
  })

  it('reports failed after the retries when the peer cannot be reached', async () => {
    await start({ retry: { maxRetries: 2, initialDelay: 10, maxDelay: 20 }, dialTimeout: 2_000 })
    await remote.node.stop()

    const err = await client.services.pool.dial(remotePeer).catch(e => e)
    expect(err).to.have.property('name', 'PeerDialFailedError')
    expect(err).to.have.property('attempts', 3)
    expect(client.services.pool.getStatus(remotePeer)).to.equal('failed')
    expect(client.services.pool.getMetrics()).to.include({ dialAttempts: 3, dialRetries: 2, dialFailures: 3 })
  })

  it('stop() closes the connections it opened and leaves others alone', async () => {
    await start({ maxConnectionsPerPeer: 2 })
    const outside = await client.dial(remote.node.getMultiaddrs()[0])
    await client.services.pool.dial(remotePeer)
    expect(client.getConnections(remotePeer)).to.have.lengthOf(2)

    await (client.services.pool as any).stop()
    await waitUntil(() => client.getConnections(remotePeer).length === 1)
    expect(client.getConnections(remotePeer)[0].id).to.equal(outside.id)
  })
})
