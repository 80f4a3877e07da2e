/**
 * A peer that goes silent on every connection (issue 22): all its
 * connections are closed within the bound of one connection (checks before
 * replacing x interval + one timeout, plus one interval of slack), however
 * many there are, live peers are probed as often as ever, and the peer is
 * re-dialled once, with back-off.
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { fakeConnection, harness, maxConcurrentStreams, newPeer } from './fixtures/fake-connections.ts'
import { createClient, createServer, proxyTo } from './fixtures/nodes.ts'
import type { ConnectionHealth } from '../src/index.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { FaultProxy } from '@x/fault-proxy'

const INTERVAL = 1_000
const TIMEOUT = 500
const CHECKS = 3
/** checks before replacing x interval + one timeout, plus one interval of slack */
const BOUND = CHECKS * INTERVAL + TIMEOUT + INTERVAL

describe('a silent peer (fake time)', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  const cases = (['muxer', 'stream'] as const).flatMap(probe => [1, 3, 8].map(n => ({ probe, n })))

  cases.forEach(({ probe, n }) => {
    it(`${probe} probes: all ${n} connections of a silent peer close within ${BOUND} ms, and a live peer is probed every interval`, async () => {
      const silent = await newPeer()
      const live = await newPeer()
      const h = harness(() => silent)
      const conns = Array.from({ length: n }, () => fakeConnection(silent, h.open, { muxer: probe === 'muxer', rtt: 5 }))
      const alive = fakeConnection(live, h.open, { muxer: probe === 'muxer', rtt: 5 })
      h.open.push(...conns, alive)
      h.connectionManager.openConnection.rejects(new Error('unreachable'))
      const health = h.service({ probe, checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS })
      health.start()
      await clock.tickAsync(3 * INTERVAL)

      // silent at a point inside an interval
      await clock.tickAsync(INTERVAL / 3)
      const silentAt = Date.now()
      const liveProbesBefore = alive.muxerPings.length + alive.opened.length
      for (const conn of conns) { conn.behaviour.rtt = undefined }

      const closedAt = new Map<string, number>()
      while (closedAt.size < n && Date.now() - silentAt < 3 * BOUND) {
        await clock.tickAsync(50)
        for (const conn of conns) {
          if (conn.status !== 'open' && !closedAt.has(conn.id)) { closedAt.set(conn.id, Date.now() - silentAt) }
        }
      }

      const elapsed = Date.now() - silentAt
      const liveProbes = alive.muxerPings.length + alive.opened.length - liveProbesBefore
      expect(closedAt.size, 'closed').to.equal(n)
      expect(Math.max(...closedAt.values())).to.be.at.most(BOUND)
      expect(liveProbes).to.be.at.least(Math.floor(elapsed / INTERVAL))
      expect(alive.status).to.equal('open')
      // go-libp2p resets a peer's third concurrent inbound ping stream
      expect(maxConcurrentStreams(silent), 'ping streams open at once to the silent peer').to.be.at.most(2)
      health.stop()
    })
  })

  it('stream probes: a peer with one dead connection and live slow ones keeps the live ones (they answered, the peer is not silent)', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    // the lease is TIMEOUT / 2: each live probe ends after the next one could start, so the
    // third live connection starts its probe after the dead one timed out
    const dead = fakeConnection(peer, h.open, { rtt: undefined })
    const live = Array.from({ length: 3 }, () => fakeConnection(peer, h.open, { rtt: 300 }))
    h.open.push(dead, ...live)
    h.connectionManager.openConnection.rejects(new Error('unreachable'))
    const health = h.service({ probe: 'stream', checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS })
    health.start()

    await clock.tickAsync(BOUND + 2 * INTERVAL)

    expect(dead.status, 'the dead connection').to.equal('closed')
    for (const conn of live) {
      expect(conn.status, `live ${conn.id}`).to.equal('open')
      expect(health.records.get(conn.id)?.probeFailures, `failures of live ${conn.id}`).to.equal(0)
    }
    health.stop()
  })

  it('stream probes: one dead connection is not a silent peer, also when its live connections wait for a probe slot', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const dead = fakeConnection(peer, h.open, { rtt: undefined })
    const live = Array.from({ length: 3 }, () => fakeConnection(peer, h.open, { rtt: 5 }))
    h.open.push(dead, ...live)
    h.connectionManager.openConnection.rejects(new Error('unreachable'))
    // one probe at a time: the live connections start only after the dead one timed out
    const health = h.service({ probe: 'stream', maxConcurrentProbes: 1, checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS })
    health.start()

    await clock.tickAsync(BOUND + 2 * INTERVAL)

    expect(dead.status, 'the dead connection').to.equal('closed')
    for (const conn of live) {
      expect(conn.status, `live ${conn.id}`).to.equal('open')
      expect(health.records.get(conn.id)?.probeFailures, `failures of live ${conn.id}`).to.equal(0)
    }
    health.stop()
  })

  it('re-dials a dead peer once, not once per connection, with a doubling back-off', async () => {
    const peer = await newPeer()
    const h = harness(() => peer)
    const conns = Array.from({ length: 3 }, () => fakeConnection(peer, h.open, { muxer: true }))
    h.open.push(...conns)
    const dials: number[] = []
    h.connectionManager.openConnection.callsFake(async () => {
      dials.push(Date.now())
      throw new Error('unreachable')
    })
    const health = h.service({ checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS })
    health.start()
    for (const conn of conns) {
      const abort = conn.abort as sinon.SinonStub
      abort.callsFake(() => {
        conn.status = 'closed'
        h.open.splice(h.open.indexOf(conn), 1)
        h.events.safeDispatchEvent('connection:close', { detail: conn })
      })
    }

    await clock.tickAsync(6 * INTERVAL)
    expect(conns.every(c => c.status === 'closed')).to.equal(true)
    const firstDial = dials[0]
    expect(firstDial).to.be.a('number')
    await clock.tickAsync(20 * INTERVAL)
    const gaps = dials.slice(1).map((at, i) => at - dials[i])
    // one loop: no two dials at once
    expect(gaps.every(gap => gap > 0)).to.equal(true)
    // each wait twice the one before
    expect(gaps.slice(0, 3)).to.deep.equal([INTERVAL, 2 * INTERVAL, 4 * INTERVAL])
    health.stop()
  })
})

describe('a silent peer (real nodes through a proxy that stops forwarding)', function () {
  this.timeout(60_000)
  let server: Libp2p | undefined
  let client: Libp2p<{ health: ConnectionHealth }> | undefined
  let proxy: FaultProxy | undefined

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
    await proxy?.stop()
    client = undefined
    server = undefined
    proxy = undefined
  })

  ;[1, 3, 8].forEach(n => {
    it(`closes all ${n} connections within ${BOUND} ms of the black hole (plus scheduling slack)`, async () => {
      server = await createServer()
      client = await createClient({ checkInterval: INTERVAL, checkJitter: 0, pingTimeout: TIMEOUT, unhealthyChecksBeforeReplace: CHECKS })
      const proxied = await proxyTo(server)
      proxy = proxied.proxy
      const conns: Connection[] = []
      for (let i = 0; i < n; i++) {
        conns.push(await client.dial(proxied.addr, { force: true }))
      }
      // the peer is reachable only through the proxy: no other address to re-dial
      await client.peerStore.patch(server.peerId as PeerId, { multiaddrs: [proxied.addr] })
      await new Promise(resolve => setTimeout(resolve, 2 * INTERVAL))

      const silentAt = Date.now()
      proxy.setBlackhole(true)
      const closed = await Promise.all(conns.map(async conn => new Promise<number>(resolve => {
        const poll = setInterval(() => {
          if (conn.status !== 'open') {
            clearInterval(poll)
            resolve(Date.now() - silentAt)
          }
        }, 20)
      })))

      process.stderr.write(`      ${n} connections closed after ${closed.map(ms => ms).join(', ')} ms\n`)
      // a loaded machine delays timers: 500 ms of slack on top of the bound
      expect(Math.max(...closed)).to.be.at.most(BOUND + 500)
      expect(client.services.health.getNetworkHealthSummary().replacements).to.equal(n)
    })
  })
})
