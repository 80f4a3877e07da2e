import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Connection, Stream } from '@libp2p/interface'
import type { ConnectionEstablishedEvent, HolePunchOutcome } from '@x/interface'

/** The stream `@libp2p/dcutr` (or go's holepunch service) runs the exchange on */
const dcutrStream = (): Stream => ({ protocol: '/libp2p/dcutr', direction: 'inbound', status: 'open' }) as unknown as Stream

describe('connections and DCUtR accounting', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  async function setup (init = {}): Promise<any> {
    const stubs = await stubComponents()
    const established: ConnectionEstablishedEvent[] = []
    const punches: HolePunchOutcome[] = []
    stubs.events.addEventListener('connectivity:hole-punch', (evt) => { punches.push(evt.detail) })
    const service = new UniversalConnectivity(stubs.components, { holePunchWindow: 10_000, onConnectionEstablished: (e) => { established.push(e) }, ...init })
    await service.start()
    await service.afterStart()
    const open = (conn: Connection): void => {
      stubs.connections.push(conn)
      stubs.events.safeDispatchEvent('connection:open', { detail: conn })
    }
    const close = (conn: Connection): void => {
      stubs.connections.splice(stubs.connections.indexOf(conn), 1)
      ;(conn as any).status = 'closed'
      stubs.events.safeDispatchEvent('connection:close', { detail: conn })
    }
    return { service, stubs, established, punches, open, close }
  }

  it('counts a hole punch for a direct connection that follows the DCUtR exchange on the relayed connection', async () => {
    const { service, established, punches, open, close } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true, direction: 'inbound' })
    open(relayed)
    await clock.tickAsync(1_000)
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(200)
    open(fakeConnection(peer, { direction: 'inbound' }))
    close(relayed)

    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    expect(punches).to.have.lengthOf(1)
    expect(punches[0]).to.include({ success: true, duration: 1_200 })

    const m = service.getMetrics()
    expect(m.holePunch).to.include({ attempts: 1, successes: 1, failures: 0, reversals: 0, pending: 0, successRate: 1, medianTimeToDirect: 1_200 })
    expect(m.connections).to.deep.include({ established: 2, inbound: 2, outbound: 0, closed: 1, byPath: { direct: 0, relay: 1, reversal: 0, 'hole-punch': 1 } })
    expect(m.connections.active).to.deep.equal({ total: 1, direct: 1, relayed: 0 })
    await service.stop()
  })

  it('sees an exchange whose stream closed before the direct connection opened', async () => {
    const { service, established, open } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(500)
    relayed.streams.length = 0
    await clock.tickAsync(500)
    open(fakeConnection(peer))
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 1, successes: 1 })
    await service.stop()
  })

  it('counts a hole punch whose exchange the peer opened and closed between two samples (we are the receiver)', async () => {
    // go-libp2p's initiator closes its stream right after SYNC and a js
    // receiver closes its end too, before it dials: on a fast link the
    // stream lives a few ms, between two samples of the relayed connection
    const { service, stubs, established, open } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true, direction: 'outbound' })
    open(relayed)
    await clock.tickAsync(10)
    const stream = dcutrStream()
    await stubs.handlers.get('/libp2p/dcutr')!.handler(stream, relayed)
    await clock.tickAsync(5)
    // the receiver's punch: its dial, as the noise client
    open(fakeConnection(peer, { direction: 'outbound' }))

    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 1, successes: 1, reversals: 0 })
    // the DCUtR implementation's own handler still got the stream
    expect(stubs.dcutrHandled).to.have.lengthOf(1)
    expect(stubs.dcutrHandled[0].stream).to.equal(stream)
    expect(stubs.dcutrHandled[0].connection).to.equal(relayed)
    await service.stop()
  })

  it('gives the DCUtR handler back on stop, with its options, and watches it again after a restart', async () => {
    const { service, stubs, established, open } = await setup()
    const original = stubs.dcutrRecord
    const wrapped = stubs.handlers.get('/libp2p/dcutr')!
    expect(wrapped.handler).to.not.equal(original.handler)
    expect(wrapped.options).to.deep.equal(original.options)
    await service.stop()
    expect(stubs.handlers.get('/libp2p/dcutr')!.handler).to.equal(original.handler)
    expect(stubs.handlers.get('/libp2p/dcutr')!.options).to.deep.equal(original.options)

    // the DCUtR service stopped first and removed its handler: nothing is put back
    await service.start()
    await service.afterStart()
    stubs.handlers.delete('/libp2p/dcutr')
    await service.stop()
    expect(stubs.handlers.has('/libp2p/dcutr')).to.be.false()

    // restarted with the DCUtR service: its handler is watched again
    stubs.handlers.set('/libp2p/dcutr', original)
    await service.start()
    await service.afterStart()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayed)
    open(fakeConnection(peer))
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    await service.stop()
  })

  it('starts when the DCUtR handler cannot be wrapped, and counts the exchanges it samples', async () => {
    const stubs = await stubComponents()
    ;(stubs.components.registrar as any).handle = async () => { throw Object.assign(new Error('peer store closed'), { name: 'Error' }) }
    const established: ConnectionEstablishedEvent[] = []
    const service = new UniversalConnectivity(stubs.components, { holePunchWindow: 10_000, onConnectionEstablished: (e) => { established.push(e) } })
    await service.start()
    await service.afterStart()
    expect(stubs.handlers.get('/libp2p/dcutr')).to.equal(stubs.dcutrRecord)
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    stubs.connections.push(relayed)
    stubs.events.safeDispatchEvent('connection:open', { detail: relayed })
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(100)
    const direct = fakeConnection(peer)
    stubs.connections.push(direct)
    stubs.events.safeDispatchEvent('connection:open', { detail: direct })
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    await service.stop()
    expect(stubs.handlers.get('/libp2p/dcutr')).to.equal(stubs.dcutrRecord)
  })

  it('puts the DCUtR handler back when handle() set the wrapper and then rejected (libp2p\'s registrar sets it before its peer store write)', async () => {
    const stubs = await stubComponents()
    const handle = (stubs.components.registrar as any).handle
    ;(stubs.components.registrar as any).handle = async (...args: any[]) => {
      await handle(...args)
      throw Object.assign(new Error('datastore closed'), { name: 'Error' })
    }
    const service = new UniversalConnectivity(stubs.components, { holePunchWindow: 10_000 })
    await service.start()
    await service.afterStart()
    expect(stubs.handlers.get('/libp2p/dcutr')!.handler).to.not.equal(stubs.dcutrRecord.handler)
    await service.stop()
    expect(stubs.handlers.get('/libp2p/dcutr')!.handler).to.equal(stubs.dcutrRecord.handler)
  })

  it('a stop() while afterStart() is still wrapping the DCUtR handler puts it back and leaves no NAT poll behind', async () => {
    const stubs = await stubComponents()
    const handle = (stubs.components.registrar as any).handle
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    let calls = 0
    ;(stubs.components.registrar as any).handle = async (...args: any[]) => {
      // like libp2p's registrar: the handler is set at once, the peer store
      // write takes a while (the first one, the wrapper's, until released)
      await handle(...args)

      if (calls++ === 0) {
        await released
      }
    }
    const service = new UniversalConnectivity(stubs.components, { holePunchWindow: 10_000 })
    await service.start()
    const starting = service.afterStart()
    await clock.tickAsync(0)
    await service.stop()
    release()
    await starting
    expect(stubs.handlers.get('/libp2p/dcutr')!.handler).to.equal(stubs.dcutrRecord.handler)
    expect(clock.countTimers()).to.equal(0)
  })

  it('still counts a hole punch with a peer whose first identify lacked DCUtR (go registers it once it knows a public address)', async () => {
    const { service, stubs, established, open } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    stubs.events.safeDispatchEvent('peer:identify', { detail: { peerId: peer, protocols: ['/ipfs/id/1.0.0'], listenAddrs: [] } as any })
    // dialPeer does not wait for an upgrade of a peer that does not speak DCUtR yet
    expect(service.getMetrics().holePunch.pending).to.equal(1)
    await clock.tickAsync(3_000)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayed)
    open(fakeConnection(peer))
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 1, successes: 1 })
    await service.stop()
  })

  it('counts the peer dialling us directly without a DCUtR exchange as a reversal, not a hole punch', async () => {
    const { service, established, punches, open } = await setup()
    const peer = await peerId()
    open(fakeConnection(peer, { relayed: true }))
    await clock.tickAsync(300)
    open(fakeConnection(peer, { direction: 'inbound' }))
    await clock.tickAsync(20_000)

    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'reversal'])
    expect(punches).to.be.empty()
    const m = service.getMetrics()
    expect(m.holePunch).to.include({ attempts: 0, successes: 0, failures: 0, reversals: 1, pending: 0, successRate: null })
    expect(m.connections.byPath).to.deep.equal({ direct: 0, relay: 1, reversal: 1, 'hole-punch': 0 })
    await service.stop()
  })

  it('counts our own direct dial (a pool dial) during the window as direct, and no attempt', async () => {
    const { service, established, open } = await setup()
    const peer = await peerId()
    open(fakeConnection(peer, { relayed: true }))
    await clock.tickAsync(300)
    open(fakeConnection(peer, { direction: 'outbound' }))
    await clock.tickAsync(20_000)
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'direct'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 0, reversals: 0, failures: 0 })
    await service.stop()
  })

  it('takes no DCUtR stream the peer opens on a relayed connection it dialled for an exchange (the spec has the other side initiate; go-libp2p resets it), so its direct dial is a reversal', async () => {
    const { service, stubs, established, open } = await setup()
    const peer = await peerId()
    // the peer dialled us over the relay: we are the initiator, it receives
    const relayed = fakeConnection(peer, { relayed: true, direction: 'inbound' })
    open(relayed)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayed)
    // the DCUtR implementation still got the stream (to refuse it, or not)
    expect(stubs.dcutrHandled).to.have.lengthOf(1)
    await clock.tickAsync(100)
    open(fakeConnection(peer, { direction: 'inbound' }))
    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'reversal'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 0, successes: 0, reversals: 1 })
    await service.stop()
  })

  it('counts a direct connection long after a finished exchange as what it is (ours: direct; the peer\'s: reversal), and the exchange as a failure', async () => {
    const { service, stubs, established, open } = await setup({ holePunchWindow: 60_000 })
    const a = await peerId()
    const relayedA = fakeConnection(a, { relayed: true })
    open(relayedA)
    // the peer's exchange: its stream closed after SYNC, and no dial followed
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayedA)
    await clock.tickAsync(20_000)
    // a pool dial of ours, well after any DCUtR dial gave up
    open(fakeConnection(a, { direction: 'outbound' }))

    const b = await peerId()
    const relayedB = fakeConnection(b, { relayed: true })
    open(relayedB)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayedB)
    await clock.tickAsync(20_000)
    // the peer dialled our public address
    open(fakeConnection(b, { direction: 'inbound' }))

    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'direct', 'relay', 'reversal'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 2, successes: 0, failures: 2, reversals: 1, pending: 0 })
    await service.stop()
  })

  it('counts a hole punch after a slow exchange whose stream stayed open, and after a retried exchange', async () => {
    const { service, stubs, established, open } = await setup({ holePunchWindow: 60_000 })
    // our exchange: its stream stays open until our direct dial settles
    const a = await peerId()
    const relayedA = fakeConnection(a, { relayed: true })
    open(relayedA)
    const stream = dcutrStream()
    relayedA.streams.push(stream)
    await clock.tickAsync(25_000)
    open(fakeConnection(a))

    // the peer's exchange failed, it retried (a new stream) and punched
    const b = await peerId()
    const relayedB = fakeConnection(b, { relayed: true })
    open(relayedB)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayedB)
    await clock.tickAsync(12_000)
    await stubs.handlers.get('/libp2p/dcutr')!.handler(dcutrStream(), relayedB)
    await clock.tickAsync(12_000)
    open(fakeConnection(b, { direction: 'inbound' }))

    expect(established.map((e: ConnectionEstablishedEvent) => e.path)).to.deep.equal(['relay', 'hole-punch', 'relay', 'hole-punch'])
    expect(service.getMetrics().holePunch).to.include({ attempts: 2, successes: 2, failures: 0, reversals: 0 })
    await service.stop()
  })

  it('counts a failure when an exchange ran and no direct connection came within the window, and keeps the relayed one', async () => {
    const { service, punches, open } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(9_999)
    expect(service.getMetrics().holePunch.pending).to.equal(1)
    await clock.tickAsync(1)
    expect(punches.map((p: HolePunchOutcome) => p.success)).to.deep.equal([false])
    const m = service.getMetrics()
    expect(m.holePunch).to.include({ attempts: 1, successes: 0, failures: 1, successRate: 0 })
    expect(m.connections.active).to.deep.equal({ total: 1, direct: 0, relayed: 1 })
    await service.stop()
  })

  it('counts no attempt when no exchange ran on the relayed connection', async () => {
    const { service, punches, open, close } = await setup()
    const peer = await peerId()
    open(fakeConnection(peer, { relayed: true }))
    await clock.tickAsync(20_000)
    const other = fakeConnection(await peerId(), { relayed: true })
    open(other)
    close(other)
    expect(punches).to.be.empty()
    expect(service.getMetrics().holePunch).to.include({ attempts: 0, failures: 0, pending: 0 })
    await service.stop()
  })

  it('counts a failure when the last relayed connection closes after an exchange without an upgrade', async () => {
    const { service, open, close } = await setup()
    const peer = await peerId()
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(100)
    close(relayed)
    expect(service.getMetrics().holePunch).to.include({ attempts: 1, failures: 1, pending: 0 })
    await service.stop()
  })

  it('does not count peers that do not speak DCUtR, nor peers already directly connected', async () => {
    const { service, stubs, open } = await setup()
    const a = await peerId()
    open(fakeConnection(a, { relayed: true }))
    stubs.events.safeDispatchEvent('peer:identify', { detail: { peerId: a, protocols: ['/ipfs/id/1.0.0'], listenAddrs: [] } as any })
    const b = await peerId()
    open(fakeConnection(b))
    const relayed = fakeConnection(b, { relayed: true })
    open(relayed)
    relayed.streams.push(dcutrStream())
    await clock.tickAsync(20_000)
    expect(service.getMetrics().holePunch).to.include({ attempts: 0, pending: 0, successRate: null })
    await service.stop()
  })

  it('bounds the relayed connections watched, settling the oldest first', async () => {
    const { service, open, punches } = await setup({ maxPendingUpgrades: 2 })
    const peers = [await peerId(), await peerId(), await peerId()]
    for (const p of peers) {
      const relayed = fakeConnection(p, { relayed: true })
      open(relayed)
      relayed.streams.push(dcutrStream())
      await clock.tickAsync(100)
    }
    expect(service.getMetrics().holePunch).to.include({ pending: 2, failures: 1 })
    expect(punches[0].peer.equals(peers[0])).to.be.true()
    await service.stop()
  })

  it('updates last_updated on each change', async () => {
    const { service, open } = await setup()
    const before = service.getMetrics().last_updated
    await clock.tickAsync(500)
    open(fakeConnection(await peerId()))
    expect(service.getMetrics().last_updated).to.equal(before + 500)
    await service.stop()
  })
})
