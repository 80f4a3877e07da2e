/**
 * @x/connection-pool against go-libp2p: several connections to one go peer
 * (dialled by peer id or by multiaddr), streams spread over them as the go
 * peer counts them, and what happens when the go resource manager refuses
 * extra connections.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPool } from '@x/connection-pool'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, randomBytes, requireOrSkip, sendAndReceiveAll, startGoPeer, tcpAddr, waitFor } from '../src/index.ts'
import type { GoPeer, JsNodeServices } from '../src/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { ConnectionPool, ConnectionPoolInit } from '@x/connection-pool'

const ECHO = '/echo/1.0.0'

describe('interop: @x/connection-pool with go-libp2p', function () {
  this.timeout(120_000)
  let go: GoPeer
  let js: Libp2p<JsNodeServices & { pool: ConnectionPool }>
  let goPeer: PeerId

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  async function start (goArgs: string[], init: ConnectionPoolInit): Promise<void> {
    go = await startGoPeer({ name: 'go-pool', args: goArgs })
    goPeer = peerIdFromString(go.peerId)
    js = await createJsNode({
      overrides: {
        connectionManager: { maxConnections: 100 },
        connectionMonitor: { enabled: false },
        services: { pool: connectionPool(init) } as any
      }
    }) as any
    await js.start()
    await js.peerStore.merge(goPeer, { multiaddrs: [multiaddr(tcpAddr(go.addrs))] })
  }

  afterEach(async () => {
    await js?.stop()
    await go?.stop()
  })

  it('keeps 3 connections to the go peer and spreads streams across them', async () => {
    await start([], { maxConnectionsPerPeer: 3, strategy: 'round-robin' })
    const conns = await js.services.pool.dial(goPeer)
    expect(conns).to.have.lengthOf(3)

    const goConns = await waitFor(async () => {
      const { conns } = await go.command('conns')
      const mine = conns.filter((c: any) => c.peerId === js.peerId.toString())
      return mine.length === 3 ? mine : undefined
    })
    expect(goConns).to.have.lengthOf(3)

    for (let i = 0; i < 90; i++) {
      const stream = await js.services.pool.newStream(goPeer, ECHO)
      const data = randomBytes(256)
      expect(await sendAndReceiveAll(stream, data)).to.deep.equal(data)
    }

    const { perConn } = await go.command('stream-counts')
    const counts = Object.values(perConn).map((c: any) => c[ECHO] ?? 0).sort((a: number, b: number) => a - b)
    expect(counts).to.deep.equal([30, 30, 30])
  })

  it('dials the go peer by multiaddr (with /p2p/) and opens no more than it asked for', async () => {
    await start([], { maxConnectionsPerPeer: 3 })
    // the go peer reports its addresses with /p2p/
    const addr = multiaddr(tcpAddr(go.addrs))
    expect(addr.toString()).to.include(`/p2p/${go.peerId}`)
    const conns = await js.services.pool.dial(addr)
    expect(conns).to.have.lengthOf(3)

    const stream = await js.services.pool.newStream(addr, ECHO)
    const data = randomBytes(64)
    expect(await sendAndReceiveAll(stream, data)).to.deep.equal(data)

    // no dialling loop: go still sees 3 connections a moment later
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const { conns: goConns } = await go.command('conns')
    expect(goConns.filter((c: any) => c.peerId === js.peerId.toString())).to.have.lengthOf(3)
    expect(js.services.pool.getMetrics().dialAttempts).to.equal(3)
  })

  it('asking for 10 connections under the go default resource manager ends with what go accepts, counted', async () => {
    await start(['-rcmgr', 'default'], { maxConnectionsPerPeer: 10, retry: { maxRetries: 1, initialDelay: 50, maxDelay: 100 } })
    await js.services.pool.dial(goPeer)

    // go's resource manager completes the handshake of connections over its
    // per-peer limit and then closes them; the pool counts those as refusals
    // and settles on what go keeps
    const accepted = await waitFor(async () => {
      const { conns } = await go.command('conns')
      const goSide = conns.filter((c: any) => c.peerId === js.peerId.toString()).length
      const jsSide = js.services.pool.getConnections(goPeer).length
      return goSide === jsSide && js.services.pool.getMetrics().dialRefusals >= 10 - jsSide ? goSide : undefined
    }, 15_000)
    // and stays there rather than re-dialling into the limit
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const metrics = js.services.pool.getMetrics()
    process.stderr.write(`      go accepted ${accepted} of 10 connections; pool refusals ${metrics.dialRefusals}, dial attempts ${metrics.dialAttempts}\n`)

    // go-libp2p's default per-peer limit is 8 connections
    expect(accepted).to.equal(8)
    expect(js.services.pool.getConnections(goPeer)).to.have.lengthOf(accepted)
    expect(metrics.dialRefusals).to.equal(10 - accepted)
    expect(js.services.pool.getStatus(goPeer)).to.equal('connected')

    // and it keeps working on what it has
    for (let i = 0; i < 20; i++) {
      const stream = await js.services.pool.newStream(goPeer, ECHO)
      const data = randomBytes(128)
      expect(await sendAndReceiveAll(stream, data)).to.deep.equal(data)
    }
    expect(js.services.pool.getMetrics().streamFailures).to.equal(0)
  })

  it('replaces a connection the go peer closes', async () => {
    await start([], { maxConnectionsPerPeer: 3, retry: { initialDelay: 50, maxDelay: 200 } })
    await js.services.pool.dial(goPeer)
    // older than the pool's refusal window, so this is a lost connection, not a refusal
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const { conns } = await go.command('conns')
    const victim = conns.find((c: any) => c.peerId === js.peerId.toString())
    if (victim == null) { throw new Error('the go peer has no connection from js') }
    await go.command('close-conn', { connId: victim.connId })

    await waitFor(async () => {
      const { conns } = await go.command('conns')
      const mine = conns.filter((c: any) => c.peerId === js.peerId.toString())
      return mine.length === 3 && !mine.some((c: any) => c.connId === victim.connId) ? true : undefined
    }, 15_000)
    expect(js.services.pool.getConnections(goPeer)).to.have.lengthOf(3)
  })
})
