/**
 * QUIC (`@chainsafe/libp2p-quic` 2.1 in js, go-libp2p's quic-go) between a
 * js node and the go peer: dials both ways, identify, ping, a 1 MiB echo,
 * the pool holding several QUIC connections to one go peer and the health
 * service measuring each of them.
 *
 * Known: a small echo the go peer opens to js over QUIC (10 B or 1 KiB: go
 * writes, half-closes, reads to the end) does not complete within 8 s, while
 * 64 KiB and 1 MiB do, and the same over TCP does (measured on loopback,
 * `@chainsafe/libp2p-quic` 2.1.1). Only the sizes that work are asserted here;
 * the small go -> js echo is an open interop defect. Its trace
 * (DEBUG=libp2p:quic*): go's data and FIN arrive with the lazily negotiated
 * protocol, js's readable end closes, `@libp2p/echo` sends the 10 bytes back,
 * `QuicStream.sendData` reports it cannot send more ("wait for drain"), and
 * the 'drain' its native write should dispatch never comes: writing to a
 * QUIC stream whose remote end finished before our first write stalls.
 */
import { quic } from '@chainsafe/libp2p-quic'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPool } from '@x/connection-pool'
import { connectionHealth } from '@x/health'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, randomBytes, requireOrSkip, sendAndReceiveAll, startGoPeer, waitFor } from '../src/index.ts'
import type { GoPeer, JsNodeServices } from '../src/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { ConnectionPool } from '@x/connection-pool'
import type { ConnectionHealth } from '@x/health'

const ECHO = '/echo/1.0.0'
const MiB = 1024 * 1024

const isQuic = (addr: string): boolean => addr.includes('/quic-v1')

function quicAddr (addrs: string[]): string {
  const addr = addrs.find(isQuic)

  if (addr == null) {
    throw new Error(`no QUIC address in ${addrs.join(', ')}`)
  }

  return addr
}

describe('interop: QUIC between js-libp2p and go-libp2p', function () {
  this.timeout(120_000)
  let go: GoPeer
  let js: Libp2p<JsNodeServices & { pool: ConnectionPool, health: ConnectionHealth }>
  let goPeer: PeerId

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  beforeEach(async () => {
    go = await startGoPeer({ name: 'go-quic' })
    goPeer = peerIdFromString(go.peerId)
    js = await createJsNode({
      listen: ['/ip4/127.0.0.1/udp/0/quic-v1'],
      overrides: {
        transports: [quic()],
        connectionManager: { maxConnections: 100 },
        connectionMonitor: { enabled: false },
        services: {
          pool: connectionPool({ maxConnectionsPerPeer: 3, strategy: 'round-robin' }),
          health: connectionHealth({ checkInterval: 60_000, pingTimeout: 2_000 })
        } as any
      }
    }) as any
    await js.start()
  })

  afterEach(async () => {
    await js?.stop()
    await go?.stop()
  })

  it('js dials go, go dials js, and identify runs both ways', async () => {
    const conn = await js.dial(multiaddr(quicAddr(go.addrs)))
    expect(conn.remotePeer.equals(goPeer)).to.be.true()
    expect(conn.remoteAddr.toString()).to.include('/quic-v1')

    const stored = await waitFor(async () => {
      const p = await js.peerStore.get(goPeer)
      return p.protocols.includes(ECHO) ? p : undefined
    }, 10_000)
    expect(stored.metadata.get('AgentVersion')).to.exist()

    const identified = await waitFor(async () => {
      const info = await go.command('identify-info', { peerId: js.peerId.toString() })
      return (info.protocols as string[]).includes(ECHO) ? info : undefined
    }, 10_000)
    expect(identified.agentVersion).to.include('js-libp2p')

    await js.hangUp(goPeer)
    // go must have seen the close: a connect while go still holds the old
    // connection reuses it and dials nothing (a loaded CI run failed so)
    await waitFor(async () => ((await go.command('conns')).conns ?? []).some((c: any) => c.peerId === js.peerId.toString()) ? undefined : true, 10_000)
    const jsQuic = quicAddr(js.getMultiaddrs().map(String))
    const result = await go.command('connect', { addr: jsQuic })
    expect(result.peerId).to.equal(js.peerId.toString())
    const inbound = await waitFor(() => js.getConnections(goPeer).find(c => c.direction === 'inbound'), 10_000)
    expect(inbound.remoteAddr.toString()).to.include('/quic-v1')
  })

  it('pings both ways and echoes 1 MiB both ways', async () => {
    await js.dial(multiaddr(quicAddr(go.addrs)))
    const rtt = await js.services.ping.ping(goPeer)
    expect(rtt).to.be.a('number')
    const pinged = await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId.toString(), count: 3 })
    expect(pinged.rttsMs).to.have.lengthOf(3)

    const data = randomBytes(MiB)
    const stream = await js.dialProtocol(goPeer, ECHO)
    const echoed = await sendAndReceiveAll(stream, data)
    expect(echoed.byteLength).to.equal(MiB)
    expect(Buffer.from(echoed).equals(Buffer.from(data))).to.be.true()

    // go opens the stream, writes 1 MiB, half-closes and compares what js echoes
    const goEcho = await go.command<{ bytes: number, identical: boolean }>('echo', { peerId: js.peerId.toString(), sizeBytes: MiB }, 30_000)
    expect(goEcho).to.include({ bytes: MiB, identical: true })
    expect(js.getConnections(goPeer).every(c => c.remoteAddr.toString().includes('/quic-v1'))).to.be.true()
  })

  it('the pool holds 3 QUIC connections to the go peer and health measures each', async () => {
    await js.peerStore.merge(goPeer, { multiaddrs: [multiaddr(quicAddr(go.addrs))] })
    const conns = await js.services.pool.dial(goPeer)
    expect(conns).to.have.lengthOf(3)
    expect(conns.every(c => c.remoteAddr.toString().includes('/quic-v1'))).to.be.true()

    const goSide = await waitFor(async () => {
      const { conns } = await go.command('conns')
      const mine = conns.filter((c: any) => c.peerId === js.peerId.toString())
      return mine.length === 3 ? mine : undefined
    }, 10_000)
    expect(goSide.every((c: any) => isQuic(c.remoteAddr))).to.be.true()

    for (let i = 0; i < 9; i++) {
      const stream = await js.services.pool.newStream(goPeer, ECHO)
      const echoed = await sendAndReceiveAll(stream, randomBytes(1024))
      expect(echoed.byteLength).to.equal(1024)
    }

    for (let i = 0; i < 3; i++) {
      await js.services.health.checkAll()
    }

    const reports = js.services.health.getConnectionHealth(goPeer)?.connections ?? []
    for (const conn of conns) {
      const report = reports.find(r => r.connectionId === conn.id)
      expect(report, conn.id).to.exist()
      expect(report?.probeFailures, `${conn.id} ${JSON.stringify(report?.errors)}`).to.equal(0)
      expect(report?.rtt?.samples, conn.id).to.be.at.least(3)
      expect(report?.rtt?.ewma, conn.id).to.be.within(0, 100)
    }
  })
})
