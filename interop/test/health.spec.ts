/**
 * @x/health against go-libp2p: probes and RTT on connections to the go
 * peer, on its yamux muxer (go-yamux answers PING frames) and with ping
 * streams; when the go process is stopped (SIGSTOP) all its connections are
 * marked unhealthy and closed within the bound of one connection, and after
 * SIGCONT the peer is re-dialled once.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, requireOrSkip, startGoPeer, tcpAddr, waitFor } from '../src/index.ts'
import type { GoPeer } from '../src/index.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { ConnectionHealth } from '@x/health'

const CHECK_INTERVAL = 500
const PING_TIMEOUT = 500
const CHECKS_BEFORE_REPLACE = 2

describe('interop: @x/health with go-libp2p', function () {
  this.timeout(90_000)
  let go: GoPeer
  let js: Libp2p<{ health: ConnectionHealth }>
  let goPeer: PeerId

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  beforeEach(async () => {
    go = await startGoPeer({ name: 'go-health' })
    goPeer = peerIdFromString(go.peerId)
    js = await createJsNode({
      overrides: {
        connectionMonitor: { enabled: false },
        services: {
          health: connectionHealth({ checkInterval: CHECK_INTERVAL, pingTimeout: PING_TIMEOUT, checkJitter: 0, unhealthyChecksBeforeReplace: CHECKS_BEFORE_REPLACE })
        } as any
      }
    }) as any
    await js.start()
    await js.peerStore.merge(goPeer, { multiaddrs: [multiaddr(tcpAddr(go.addrs))] })
  })

  afterEach(async () => {
    go?.kill('SIGCONT')
    await js?.stop()
    await go?.stop()
  })

  it('probes connections to the go peer and measures their RTT', async () => {
    const conn = await js.dial(goPeer)
    const report = await waitFor(() => {
      const c = js.services.health.getConnectionHealth(goPeer)?.connections.find(c => c.connectionId === conn.id)
      return c != null && (c.rtt?.samples ?? 0) >= 3 ? c : undefined
    }, 15_000)

    expect(report.rtt!.ewma).to.be.within(0, 50)
    expect(report.probe, 'go-yamux answers PING frames').to.equal('muxer')
    expect(report.successRate).to.equal(1)
    expect(report.state).to.equal('healthy')
    expect(report.bytesIn).to.be.greaterThan(0)
  })

  it('probes every one of several connections to one go peer without a failure (go allows 2 inbound ping streams per peer)', async () => {
    const conns = []
    for (let i = 0; i < 5; i++) {
      conns.push(await js.dial(multiaddr(tcpAddr(go.addrs)), { force: true }))
    }
    expect(new Set(conns.map(c => c.id)).size).to.equal(5)

    for (let i = 0; i < 4; i++) {
      await js.services.health.checkAll()
    }

    const reports = js.services.health.getConnectionHealth(goPeer)?.connections ?? []
    const byId = new Map(reports.map(r => [r.connectionId, r]))
    for (const conn of conns) {
      const report = byId.get(conn.id)
      expect(report, conn.id).to.not.equal(undefined)
      expect(report?.probeFailures, `${conn.id} ${JSON.stringify(report?.errors)}`).to.equal(0)
      expect(report?.rtt?.samples, conn.id).to.be.at.least(4)
    }
  })

  it('probes 5 go connections with ping streams too (probe: stream), one per peer at a time, without a failure', async () => {
    await js.stop()
    js = await createJsNode({
      overrides: {
        connectionMonitor: { enabled: false },
        services: { health: connectionHealth({ probe: 'stream', checkInterval: 600_000 }) } as any
      }
    }) as any
    await js.start()
    for (let i = 0; i < 5; i++) {
      await js.dial(multiaddr(tcpAddr(go.addrs)), { force: true })
    }
    for (let i = 0; i < 3; i++) {
      await js.services.health.checkAll()
    }
    const reports = js.services.health.getConnectionHealth(goPeer)!.connections
    expect(reports).to.have.lengthOf(5)
    for (const report of reports) {
      expect(report.probe).to.equal('stream')
      expect(report.probeFailures, JSON.stringify(report.errors)).to.equal(0)
      expect(report.rtt?.samples).to.equal(3)
    }
  })

  it('closes all 3 connections of a stopped go peer within the bound of one, and re-dials it once after SIGCONT', async () => {
    const conns: Connection[] = []
    for (let i = 0; i < 3; i++) {
      conns.push(await js.dial(multiaddr(tcpAddr(go.addrs)), { force: true }))
    }
    const measured = (conn: Connection): number => js.services.health.getConnectionHealth(goPeer)?.connections.find(c => c.connectionId === conn.id)?.rtt?.samples ?? 0
    await waitFor(() => conns.every(conn => measured(conn) >= 2) ? true : undefined, 15_000)
    const dials: number[] = []
    const openConnection = (js as any).components.connectionManager.openConnection.bind((js as any).components.connectionManager)
    ;(js as any).components.connectionManager.openConnection = async (...args: any[]) => { dials.push(Date.now()); return openConnection(...args) }

    const stopped = Date.now()
    go.kill('SIGSTOP')
    const closedAfter = await Promise.all(conns.map(async conn => waitFor(() => conn.status !== 'open' ? Date.now() - stopped : undefined, 20_000, 20)))
    // checks before replacing x interval + one timeout, plus one interval of slack
    const bound = CHECKS_BEFORE_REPLACE * CHECK_INTERVAL + PING_TIMEOUT + CHECK_INTERVAL
    process.stderr.write(`      3 connections closed ${closedAfter.join(', ')} ms after SIGSTOP (bound ${bound} ms)\n`)
    // a loaded machine delays timers: 500 ms of slack on top of the bound
    expect(Math.max(...closedAfter)).to.be.at.most(bound + 500)

    go.kill('SIGCONT')
    await waitFor(() => js.getConnections(goPeer).find(c => c.status === 'open' && !conns.some(old => old.id === c.id)), 20_000, 100)
    // the peer, not each of its connections, was re-dialled
    expect(dials.length).to.be.within(1, 3)
    expect(dials.slice(1).every((at, i) => at > dials[i])).to.equal(true)
  })

  it('closes the connections of a stopped go peer within the bound, and re-dials it after SIGCONT', async () => {
    const conn = await js.dial(goPeer)
    await waitFor(() => (js.services.health.getConnectionHealth(goPeer)?.connections[0]?.rtt?.samples ?? 0) >= 2 ? true : undefined, 15_000)
    const states: string[] = []
    js.addEventListener('connection:health', (evt) => { if (evt.detail.connectionId === conn.id) { states.push(evt.detail.state) } })

    const stopped = Date.now()
    go.kill('SIGSTOP')
    await waitFor(() => conn.status !== 'open' ? true : undefined, 20_000, 50)
    const closedAfter = Date.now() - stopped
    // silent for two probes -> degraded; CHECKS_BEFORE_REPLACE checks below -> unhealthy and closed
    const bound = (CHECKS_BEFORE_REPLACE + 3) * (CHECK_INTERVAL + PING_TIMEOUT)
    process.stderr.write(`      closed ${closedAfter} ms after SIGSTOP (bound ${bound} ms)\n`)
    expect(closedAfter).to.be.below(bound)
    expect(states).to.include.members(['degraded', 'unhealthy'])

    go.kill('SIGCONT')
    const reopened = await waitFor(() => js.getConnections(goPeer).find(c => c.status === 'open' && c.id !== conn.id), 20_000, 100)
    expect(reopened).to.exist()
  })
})
