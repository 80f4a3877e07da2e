/**
 * Real NAT traversal in network namespaces (interop/lab): a go relay and go
 * AutoNAT servers on a public segment, two LANs behind nftables NAT routers.
 * Needs root, nft and Go: fails on CI without them, skips loudly elsewhere.
 */
import { expect } from 'aegir/chai'
import { requireOrSkip } from '../../src/index.ts'
import { labMissingReason, startLab, until } from './lab.ts'
import type { Lab } from './lab.ts'
import type { GoPeer } from '../../src/index.ts'

const hasCircuit = (addrs: string[] = []): boolean => addrs.some(a => a.includes('/p2p-circuit'))

async function circuitAddrOf (peer: GoPeer): Promise<string> {
  return until('a circuit address', async () => {
    const { addrs } = await peer.command<{ addrs: string[] }>('addrs')
    const circuit = addrs.find(a => a.endsWith('/p2p-circuit') || a.includes('/p2p-circuit'))
    return circuit == null ? undefined : (circuit.includes(`/p2p/${peer.peerId}`) ? circuit : `${circuit}/p2p/${peer.peerId}`)
  }, 30_000)
}

/** The remote address of one of the go peer's connections (the relay is unlimited, so `limited` is false) */
async function connAddr (peer: GoPeer, connId: string): Promise<string> {
  const { conns } = await peer.command<{ conns: any[] }>('conns')
  return String(conns.find(c => c.connId === connId)?.remoteAddr)
}

async function directConnTo (peer: GoPeer, remote: string): Promise<any> {
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
  })
})
