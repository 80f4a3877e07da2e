/**
 * The foundation scenarios: a js node and the go peer connect both ways over
 * TCP with noise (or TLS) and yamux, exchange identify, ping, echo 1 MiB with
 * half-close, and the js connection monitor keeps a quiet connection up.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { startGoPeer } from '../src/go-peer.ts'
import { createJsNode } from '../src/js-node.ts'
import { goMissingReason, requireOrSkip } from '../src/requirements.ts'
import { sendAndReceiveAll } from '../src/streams.ts'
import { randomBytes, tcpAddr, waitFor } from '../src/util.ts'
import type { GoPeer } from '../src/go-peer.ts'
import type { JsNodeServices } from '../src/js-node.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/echo/1.0.0'
const MiB = 1024 * 1024

describe('interop: js-libp2p <-> go-libp2p basics', function () {
  let go: GoPeer
  let js: Libp2p<JsNodeServices>

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  beforeEach(async () => {
    go = await startGoPeer({ name: 'go-basic' })
    js = await createJsNode()
    await js.start()
  })

  afterEach(async () => {
    await js?.stop()
    await go?.stop()
    expect(go.exitCode, 'the go peer exited').to.not.equal(undefined)
  })

  it('js dials go over TCP with noise and yamux', async () => {
    const conn = await js.dial(multiaddr(tcpAddr(go.addrs)))

    expect(conn.remotePeer.toString()).to.equal(go.peerId)
    expect(conn.encryption).to.equal('/noise')
    expect(conn.multiplexer).to.equal('/yamux/1.0.0')

    const opened = await go.waitFor('conn', e => e.event === 'open' && e.peerId === js.peerId.toString())
    expect(opened.direction).to.equal('inbound')
  })

  it('js dials go over TCP with TLS and yamux', async () => {
    await js.stop()
    js = await createJsNode({ encrypters: ['tls'] })
    await js.start()

    const conn = await js.dial(multiaddr(tcpAddr(go.addrs)))
    expect(conn.encryption).to.equal('/tls/1.0.0')
    expect(conn.multiplexer).to.equal('/yamux/1.0.0')
  })

  it('go dials js over TCP with noise and yamux', async () => {
    const addr = js.getMultiaddrs().map(ma => ma.toString()).find(a => a.includes('/tcp/'))
    const result = await go.command('connect', { addr })
    expect(result.peerId).to.equal(js.peerId.toString())

    const conn = js.getConnections(peerIdFromString(go.peerId))[0]
    expect(conn, 'js sees the connection').to.exist()
    expect(conn.direction).to.equal('inbound')
    expect(conn.encryption).to.equal('/noise')
  })

  it('exchanges identify both ways', async () => {
    await js.dial(multiaddr(tcpAddr(go.addrs)))
    const goPeerId = peerIdFromString(go.peerId)

    // js learns the go peer's agent and protocols
    const peer = await waitFor(async () => {
      const p = await js.peerStore.get(goPeerId)
      return p.protocols.includes(ECHO) ? p : undefined
    })
    const agent = new TextDecoder().decode(peer.metadata.get('AgentVersion'))
    expect(agent).to.equal('x-interop-go-peer/0.1.0')
    expect(peer.protocols).to.include('/ipfs/ping/1.0.0')

    // go learns js's
    const info = await waitFor(async () => {
      const i = await go.command('identify-info', { peerId: js.peerId.toString() })
      return i.protocols?.includes(ECHO) === true ? i : undefined
    })
    expect(info.agentVersion).to.match(/js-libp2p/)
    expect(info.protocols).to.include('/ipfs/ping/1.0.0')
    expect(info.protocols).to.include('/ipfs/id/1.0.0')
  })

  it('pings both ways with an RTT', async () => {
    await js.dial(multiaddr(tcpAddr(go.addrs)))

    const rtt = await js.services.ping.ping(peerIdFromString(go.peerId))
    expect(rtt).to.be.a('number').that.is.at.least(0).and.below(1000)

    const result = await go.command('ping', { peerId: js.peerId.toString(), count: 3 })
    expect(result.rttsMs).to.have.lengthOf(3)
    for (const ms of result.rttsMs) {
      expect(ms).to.be.a('number').that.is.at.least(0).and.below(1000)
    }
  })

  it('echoes 1 MiB from js through go with half-close, bytes identical', async () => {
    const conn = await js.dial(multiaddr(tcpAddr(go.addrs)))
    const data = randomBytes(MiB)
    const stream = await conn.newStream(ECHO)
    const received = await sendAndReceiveAll(stream, data)

    expect(received.byteLength).to.equal(data.byteLength)
    expect(Buffer.from(received).equals(Buffer.from(data))).to.be.true()
  })

  it('echoes 1 MiB from go through js with half-close, bytes identical', async () => {
    await js.dial(multiaddr(tcpAddr(go.addrs)))
    const result = await go.command('echo', { peerId: js.peerId.toString(), sizeBytes: MiB }, 30_000)

    expect(result.bytes).to.equal(MiB)
    expect(result.identical).to.be.true()
  })

  it('keeps a quiet connection up for 30 s with the js connection monitor', async function () {
    this.timeout(60_000)
    await js.stop()
    js = await createJsNode({ overrides: { connectionMonitor: { enabled: true, pingInterval: 5_000 } } })
    await js.start()

    const conn = await js.dial(multiaddr(tcpAddr(go.addrs)))
    await new Promise(resolve => setTimeout(resolve, 30_000))

    expect(conn.status).to.equal('open')
    expect(js.getConnections(peerIdFromString(go.peerId)).map(c => c.id)).to.include(conn.id)
    // the monitor measured the connection by pinging the go peer on it
    expect(conn.rtt).to.be.a('number')

    const { conns } = await go.command('conns')
    expect(conns.filter((c: any) => c.peerId === js.peerId.toString())).to.have.lengthOf(1)
    expect(go.events.filter(e => e.type === 'conn' && e.event === 'close')).to.have.lengthOf(0)
  })
})
