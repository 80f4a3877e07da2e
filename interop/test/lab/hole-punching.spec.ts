/**
 * `@x/hole-punching` in the NAT lab: a NATed js node and a NATed go node hole
 * punch through two cone NATs, whichever of them dials the other over the
 * relay first; behind symmetric NATs the punch fails and the relayed
 * connection keeps working. Needs root, nft and Go (see nat.spec.ts).
 */
import { expect } from 'aegir/chai'
import { requireOrSkip } from '../../src/index.ts'
import { labMissingReason, startLab, until } from './lab.ts'
import type { Lab, NatKind } from './lab.ts'
import type { PeerProcess } from '../../src/index.ts'

const isDirect = (c: any): boolean => c.limited !== true && !String(c.remoteAddr).includes('/p2p-circuit')

/** A NATed js node on host a with `@x/hole-punching`, reserved on the relay; resolves with its circuit address */
async function natedJs (lab: Lab, port: number): Promise<{ js: PeerProcess, circuit: string }> {
  const js = await lab.js('a', { listen: [`/ip4/0.0.0.0/tcp/${port}`], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true })
  const circuit = await until('a circuit address announced by js', () => js.events.filter(e => e.type === 'addrs').flatMap(e => e.addrs as string[]).find(a => a.includes('/p2p-circuit')), 30_000)
  return { js, circuit: circuit.includes(`/p2p/${js.peerId}`) ? circuit : `${circuit}/p2p/${js.peerId}` }
}

async function goCircuit (go: PeerProcess): Promise<string> {
  return until('a circuit address of go', async () => {
    const { addrs } = await go.command<{ addrs: string[] }>('addrs')
    const circuit = addrs.find(a => a.includes('/p2p-circuit'))
    return circuit == null ? undefined : circuit.includes(`/p2p/${go.peerId}`) ? circuit : `${circuit}/p2p/${go.peerId}`
  }, 30_000)
}

async function directConn (peer: PeerProcess, remote: string): Promise<any> {
  const { conns } = await peer.command<{ conns: any[] }>('conns')
  return conns.find(c => c.peerId === remote && isDirect(c))
}

function suite (nat: NatKind): void {
  describe(`NAT lab: @x/hole-punching, ${nat} NATs`, function () {
    this.timeout(180_000)
    let lab: Lab

    before(async function () {
      requireOrSkip(this, 'NAT lab specs', labMissingReason())
      lab = await startLab(nat)
      await lab.startInfra()
    })

    after(async () => {
      await lab?.down()
    })

    it('go initiates: a NATed go peer dials a NATed js node over the relay, js opens the exchange', async () => {
      const { js, circuit } = await natedJs(lab, 4010)
      const go = await lab.natedGo('b')
      await go.command('connect', { addr: circuit }, 15_000)
      const outcome = await js.waitFor('x-hole-punch', e => e.peerId === go.peerId && (e.success === true || e.attempt >= 3 || nat === 'symmetric'), 60_000)

      if (nat === 'cone') {
        expect(outcome, JSON.stringify(outcome)).to.include({ success: true, role: 'initiator' })
        process.stderr.write(`      go initiates: js punched in ${String(outcome.durationMs)} ms to ${String(outcome.remoteAddr)}\n`)
        const direct = await until('a direct connection go -> js', async () => directConn(go, js.peerId), 15_000)
        expect(direct.remoteAddr).to.match(/^\/ip4\/16\.0\.0\.1\/tcp\//)
      } else {
        expect(outcome.success).to.equal(false)
        // the exchange ran and the punch itself failed, not an earlier step
        expect(outcome.error, JSON.stringify(outcome)).to.equal('PunchFailedError')
        process.stderr.write(`      go initiates, symmetric: ${String(outcome.error)} ${String(outcome.message)}\n`)
      }

      const pinged = await go.command<{ rttsMs: number[] }>('ping', { peerId: js.peerId, count: 2 }, 15_000)
      expect(pinged.rttsMs).to.have.lengthOf(2)
      await go.stop()
      await js.stop()
    })

    it('js initiates: a NATed js node dials a NATed go peer over the relay, go opens the exchange', async () => {
      const go = await lab.natedGo('b')
      const { js } = await natedJs(lab, 4011)
      await js.command('connect', { addr: await goCircuit(go) }, 15_000)
      const end = await go.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === js.peerId && (e.success === true || nat === 'symmetric'), 60_000)

      if (nat === 'cone') {
        expect(end.success, `hole punch failed: ${end.error}`).to.equal(true)
        const outcome = await js.waitFor('x-hole-punch', e => e.peerId === go.peerId && e.success === true, 15_000)
        expect(outcome.role).to.equal('receiver')
        const direct = await until('a direct connection js -> go', async () => directConn(js, go.peerId), 15_000)
        expect(direct.remoteAddr).to.match(/^\/ip4\/17\.0\.0\.1\/tcp\//)
      } else {
        expect(end.success).to.equal(false)
      }

      const rtt = await js.command<{ rttMs: number }>('ping', { peerId: go.peerId }, 15_000)
      expect(rtt.rttMs).to.be.a('number')
      await go.stop()
      await js.stop()
    })
  })
}

suite('cone')
suite('symmetric')
