/**
 * Real NAT traversal in network namespaces (interop/lab): a go relay and go
 * AutoNAT servers on a public segment, two LANs behind nftables NAT routers.
 * Needs root, nft and Go: fails on CI without them, skips loudly elsewhere.
 */
import { expect } from 'aegir/chai'
import { requireOrSkip } from '../../src/index.ts'
import { labMissingReason, startLab, until } from './lab.ts'
import type { Lab } from './lab.ts'
import type { PeerProcess } from '../../src/index.ts'

const hasCircuit = (addrs: string[] = []): boolean => addrs.some(a => a.includes('/p2p-circuit'))

async function circuitAddrOf (peer: PeerProcess): Promise<string> {
  return until('a circuit address', async () => {
    const { addrs } = await peer.command<{ addrs: string[] }>('addrs')
    const circuit = addrs.find(a => a.endsWith('/p2p-circuit') || a.includes('/p2p-circuit'))
    if (circuit == null) { return undefined }
    return circuit.includes(`/p2p/${peer.peerId}`) ? circuit : `${circuit}/p2p/${peer.peerId}`
  }, 30_000)
}

/** The circuit address a js peer announced (from its `addrs` events) */
async function jsCircuitAddr (js: PeerProcess): Promise<string> {
  const announced = (): string | undefined => js.events.filter(e => e.type === 'addrs').flatMap(e => e.addrs as string[]).find(a => hasCircuit([a]))
  return until('a circuit address announced by js', announced, 20_000)
}

/** Resolves once the peer has a connection to `remote` */
async function connectedTo (peer: PeerProcess, remote: string): Promise<void> {
  const has = async (): Promise<true | undefined> => (await peer.command<{ conns: any[] }>('conns')).conns.some(c => c.peerId === remote) ? true : undefined
  await until(`a connection to ${remote}`, has, 15_000)
}

/** The remote address of one of the go peer's connections (the relay is unlimited, so `limited` is false) */
async function connAddr (peer: PeerProcess, connId: string): Promise<string> {
  const { conns } = await peer.command<{ conns: any[] }>('conns')
  return String(conns.find(c => c.connId === connId)?.remoteAddr)
}

async function directConnTo (peer: PeerProcess, remote: string): Promise<any> {
  const { conns } = await peer.command<{ conns: any[] }>('conns')
  return conns.find(c => c.peerId === remote && c.limited !== true && !String(c.remoteAddr).includes('p2p-circuit'))
}

describe('NAT lab', function () {
  this.timeout(180_000)

  before(function () {
    requireOrSkip(this, 'NAT lab specs', labMissingReason())
  })

  describe('cone NATs', () => {
    let lab: Lab

    before(async () => {
      lab = await startLab('cone')
      await lab.startInfra()
    })

    after(async () => {
      await lab?.down()
    })

    it('(1) go-go: hole punches through two cone NATs', async () => {
      const a = await lab.natedGo('a')
      const b = await lab.natedGo('b')
      const circuit = await circuitAddrOf(b)
      const relayed = await a.command('connect', { addr: circuit }, 15_000)
      expect(await connAddr(a, relayed.connId)).to.include('/p2p-circuit')

      const end = await b.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === a.peerId, 60_000)
      expect(end.success, `hole punch failed: ${end.error}`).to.equal(true)
      const direct = await until('a direct connection a -> b', async () => directConnTo(a, b.peerId), 15_000)
      expect(direct.remoteAddr).to.match(/^\/ip4\/17\.0\.0\.1\//)
      await a.stop()
      await b.stop()
    })

    it('(2) a NATed js node learns private, reserves on the go relay, and a go peer reaches it through the relay', async () => {
      const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4002'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs })
      const status = await js.waitFor('nat-status', e => e.status === 'private', 30_000)
      expect(status.reason).to.match(/relay reservation|NAT/)
      const circuit = await jsCircuitAddr(js)
      expect(circuit).to.include(`/p2p/${lab.relay.peerId}/p2p-circuit/p2p/${js.peerId}`)

      const go = await lab.natedGo('b')
      const conn = await go.command('connect', { addr: circuit }, 15_000)
      expect(await connAddr(go, conn.connId)).to.include('/p2p-circuit')
      const pinged = await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 3 }, 15_000)
      expect(pinged.rttsMs).to.have.lengthOf(3)
      await go.stop()
      await js.stop()
    })

    it('(3) a public js node learns public from the go AutoNAT servers (v1 and v2)', async () => {
      const js = await lab.js('pubjs', { listen: [`/ip4/${lab.info.ip.pubjs}/tcp/4001`], connect: lab.autonatAddrs, autonatV2: true })
      const status = await js.waitFor('nat-status', e => e.status === 'public', 60_000)
      expect(status.reason).to.include('AutoNAT verified').and.include(`/ip4/${lab.info.ip.pubjs}/tcp/4001`)
      await js.stop()
    })

    it('(4) js dialPeer to a NATed go peer through the relay it reserved on: go dials js\'s public address back, a reversal, not a hole punch', async () => {
      const go = await lab.natedGo('b')
      const js = await lab.js('pubjs', { listen: [`/ip4/${lab.info.ip.pubjs}/tcp/4002`], relays: [lab.relayAddr], connect: lab.autonatAddrs, upgradeTimeout: 20_000 })
      // until AutoNAT verifies it, js does not announce its public address and go has nothing to dial back
      await js.waitFor('nat-status', e => e.status === 'public', 60_000)
      await connectedTo(js, lab.relay.peerId)
      await circuitAddrOf(go) // go holds its reservation on the relay
      const { p2pAddrs } = await go.command<{ p2pAddrs: string[] }>('addrs')
      // go's own addresses: its private TCP address (unreachable) and its circuit address through the relay
      const addrs = p2pAddrs.filter(a => a.includes('/tcp/') && !a.includes('/127.0.0.1/'))

      const result = await js.command<any>('dial', { peerId: go.peerId, addrs }, 60_000)
      expect(result.path, JSON.stringify(result.attempts)).to.equal('reversal')
      expect(result.direct).to.equal(true)
      expect(result.attempts.map((a: any) => [a.path, a.relay])).to.deep.equal([['direct', undefined], ['relay', lab.relay.peerId]])
      const metrics = await js.command<any>('metrics')
      expect(metrics.holePunch).to.include({ attempts: 0, successes: 0, reversals: 1 })
      expect(metrics.dials).to.include({ reversal: 1, holePunch: 0 })
      expect(metrics.connections.byPath).to.include({ reversal: 1, 'hole-punch': 0 })
      process.stderr.write(`      (4) js -> NATed go: reversal after ${result.ms} ms (attempts: ${result.attempts.map((a: any) => `${a.path} ${a.duration} ms`).join(', ')})\n`)
      await go.stop()
      await js.stop()
    })

    it('(5) a NATed go peer dialling a NATed js node: DCUtR outcome reported, traffic flows over the relay either way', async () => {
      const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4003'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunchWindow: 15_000 })
      const circuit = await jsCircuitAddr(js)
      const go = await lab.natedGo('b')
      await go.command('connect', { addr: circuit }, 15_000)
      const pinged = await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 3 }, 15_000)
      expect(pinged.rttsMs).to.have.lengthOf(3)

      const outcome = await js.waitFor('hole-punch', e => e.peerId === go.peerId, 30_000)
      const metrics = await js.command<any>('metrics')
      expect(metrics.holePunch.attempts).to.equal(1)
      const after = await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 3 }, 15_000)
      expect(after.rttsMs).to.have.lengthOf(3)
      const conns = (await go.command<any>('conns')).conns.filter((c: any) => c.peerId === js.peerId)
      process.stderr.write(`      (5) NATed go -> NATed js: DCUtR ${outcome.success === true ? 'succeeded' : 'failed'} (${outcome.duration} ms); a ping after it went over ${conns.map((c: any) => c.remoteAddr).join(', ')}\n`)
      await go.stop()
      await js.stop()
    })

    it('(9) @x/hole-punching, as the service counts it: NATed js dialPeer to a NATed go peer (js receives the exchange) ends in a hole punch, not a direct dial', async () => {
      const go = await lab.natedGo('b')
      const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4020'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true, upgradeTimeout: 30_000, holePunchWindow: 60_000 })
      await jsCircuitAddr(js)
      const result = await js.command<any>('dial', { peerId: go.peerId, addrs: [await circuitAddrOf(go)] }, 90_000)
      expect(result.path, JSON.stringify(result.attempts)).to.equal('hole-punch')
      expect(result.remoteAddr).to.match(/^\/ip4\/17\.0\.0\.1\/tcp\//)
      const punched = await js.waitFor('x-hole-punch', e => e.peerId === go.peerId && e.success === true, 15_000)
      expect(punched.role).to.equal('receiver')
      const metrics = await js.command<any>('metrics')
      expect(metrics.holePunch).to.include({ attempts: 1, successes: 1, failures: 0, reversals: 0 })
      expect(metrics.dials).to.include({ holePunch: 1, reversal: 0, direct: 0 })
      expect(metrics.connections.byPath).to.include({ 'hole-punch': 1, reversal: 0 })
      process.stderr.write(`      (9) NATed js -> NATed go with @x/hole-punching: hole punch after ${result.ms} ms over ${result.remoteAddr}\n`)
      await go.stop()
      await js.stop()
    })

    it('(9b) @x/hole-punching, as the service counts it: a NATed go peer dials a NATed js node over the relay (js opens the exchange), a hole punch', async () => {
      const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4021'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true, holePunchWindow: 60_000 })
      const circuit = await jsCircuitAddr(js)
      const go = await lab.natedGo('b')
      await go.command('connect', { addr: circuit }, 15_000)
      const opened = await js.waitFor('conn', e => e.event === 'open' && e.peerId === go.peerId && !String(e.remoteAddr).includes('/p2p-circuit'), 60_000)
      expect(opened.path, JSON.stringify(opened)).to.equal('hole-punch')
      const punched = await js.waitFor('x-hole-punch', e => e.peerId === go.peerId && e.success === true, 15_000)
      expect(punched.role).to.equal('initiator')
      const metrics = await js.command<any>('metrics')
      expect(metrics.holePunch).to.include({ attempts: 1, successes: 1, failures: 0, reversals: 0 })
      expect(metrics.connections.byPath).to.include({ 'hole-punch': 1, reversal: 0 })
      await go.stop()
      await js.stop()
    })

    it('(7) QUIC: a NATed go peer dials a public js node over QUIC, identify and ping both ways', async () => {
      const js = await lab.js('pubjs', { listen: [`/ip4/${lab.info.ip.pubjs}/tcp/4003`, `/ip4/${lab.info.ip.pubjs}/udp/4003/quic-v1`], quic: true })
      const go = await lab.natedGo('b')
      const addr = `/ip4/${lab.info.ip.pubjs}/udp/4003/quic-v1/p2p/${js.peerId}`
      const conn = await go.command('connect', { addr }, 15_000)
      expect(await connAddr(go, conn.connId)).to.include('/quic-v1')
      // js sees the NAT's public address, over QUIC
      const quicConnOf = (conns: any[]): any => conns.find(c => c.peerId === go.peerId && String(c.remoteAddr).includes('/quic-v1'))
      const seen = await until('js to see the QUIC connection', async () => quicConnOf((await js.command<{ conns: any[] }>('conns')).conns), 10_000)
      expect(seen.remoteAddr).to.match(/^\/ip4\/17\.0\.0\.1\/udp\//)
      const identified = await until('go to identify js', async () => {
        const info = await go.command<{ protocols: string[] }>('identify-info', { peerId: js.peerId })
        return info.protocols.includes('/ipfs/ping/1.0.0') ? info : undefined
      }, 10_000)
      expect(identified.protocols).to.include('/echo/1.0.0')
      expect((await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 3 }, 15_000)).rttsMs).to.have.lengthOf(3)
      expect((await js.command<{ rttMs: number }>('ping', { peerId: go.peerId })).rttMs).to.be.a('number')
      process.stderr.write(`      (7) NATed go -> public js over QUIC from ${seen.remoteAddr}\n`)
      await go.stop()
      await js.stop()
    })

    it('(7b) QUIC the other way: public js dialPeer to a NATed go peer through its relay; go dials js back over QUIC', async () => {
      // announced: with 3 AutoNAT servers, AutoNAT (v1, and v2 too) verified the TCP address here but not the QUIC one within 60 s
      const quicAddr = `/ip4/${lab.info.ip.pubjs}/udp/4004/quic-v1`
      const js = await lab.js('pubjs', { listen: [`/ip4/${lab.info.ip.pubjs}/tcp/4004`, quicAddr], quic: true, relays: [lab.relayAddr], connect: lab.autonatAddrs, appendAnnounce: [quicAddr] })
      await connectedTo(js, lab.relay.peerId)
      const go = await lab.natedGo('b')
      const circuit = await circuitAddrOf(go)
      const result = await js.command<any>('dial', { peerId: go.peerId, addrs: [circuit] }, 60_000)
      expect(result.path, JSON.stringify(result.attempts)).to.equal('reversal')
      expect(result.remoteAddr).to.match(/^\/ip4\/17\.0\.0\.1\/udp\/\d+\/quic-v1/)
      expect((await js.command<{ rttMs: number }>('ping', { peerId: go.peerId })).rttMs).to.be.a('number')
      process.stderr.write(`      (7b) public js -> NATed go: reversal over ${result.remoteAddr}\n`)
      await go.stop()
      await js.stop()
    })
  })

  describe('symmetric NATs', () => {
    let lab: Lab

    before(async () => {
      lab = await startLab('symmetric')
      await lab.startInfra()
    })

    after(async () => {
      await lab?.down()
    })

    it('(6) hole punching fails, the relayed path keeps working, and the metrics count the failure', async () => {
      const a = await lab.natedGo('a')
      const b = await lab.natedGo('b')
      const circuit = await circuitAddrOf(b)
      await a.command('connect', { addr: circuit }, 15_000)
      const end = await b.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === a.peerId, 60_000)
      expect(end.success).to.equal(false)
      expect(await directConnTo(a, b.peerId)).to.equal(undefined)
      expect((await a.command<{ rttsMs: number[] }>('ping', { peerId: b.peerId, count: 3 }, 15_000)).rttsMs).to.have.lengthOf(3)

      const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4002'], relays: [lab.relayAddr], connect: lab.autonatAddrs, holePunchWindow: 15_000, upgradeTimeout: 15_000 })
      await connectedTo(js, lab.relay.peerId)
      const { p2pAddrs } = await b.command<{ p2pAddrs: string[] }>('addrs')
      // b's TCP addresses, its circuit address through the relay among them
      const result = await js.command<any>('dial', { peerId: b.peerId, addrs: p2pAddrs.filter(x => x.includes('/tcp/') && !x.includes('/127.0.0.1/')) }, 60_000)
      expect(result.path).to.equal('relay')
      expect((await b.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 3 }, 15_000)).rttsMs).to.have.lengthOf(3)
      await js.waitFor('hole-punch', e => e.peerId === b.peerId, 30_000)
      const metrics = await js.command<any>('metrics')
      expect(metrics.holePunch).to.include({ attempts: 1, successes: 0, failures: 1, reversals: 0 })
      expect(metrics.dials).to.include({ relay: 1, holePunch: 0, reversal: 0 })
      await js.stop()
    })
  })
})

describe('NAT lab: AutoNAT with eight servers in distinct /8 networks', function () {
  this.timeout(240_000)
  let lab: Lab

  before(async function () {
    requireOrSkip(this, 'NAT lab specs', labMissingReason())
    lab = await startLab('cone')
    await lab.startInfra(8)
  })

  after(async () => {
    await lab?.down()
  })

  it('(8) a NATed js node without a reservation learns private from AutoNAT\'s failed dial-backs of its observed QUIC address', async () => {
    const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/udp/4600/quic-v1'], quic: true, connect: lab.autonatQuicAddrs, autonatV2: true })
    const status = await js.waitFor('nat-status', e => e.status !== 'unknown', 120_000)
    expect(status.status, status.reason).to.equal('private')
    expect(status.reason).to.include('AutoNAT could not dial').and.include('/ip4/16.0.0.1/udp/')
    const metrics = await js.command<any>('metrics')
    expect(metrics.relay.reservations).to.deep.equal([])
    process.stderr.write(`      (8) NATed js over QUIC: private after ${status.sinceStartMs} ms: ${status.reason}\n`)
    await js.stop()
  })
})
