/**
 * The NAT status from the address manager, fed with what libp2p 3.3 really
 * produces (see libp2p/src/address-manager and @libp2p/autonat's
 * confirmAddress/unconfirmAddress):
 *
 * - private and loopback transport addresses: `verified: true` at once;
 * - a public transport address: `verified: false, expires: 0` until AutoNAT
 * decides; confirmed: `verified: true, expires: now + ttl`; failed
 * (`removeObservedAddr` on a transport address): `verified: false,
 * expires: now + retry`, with a `self:peer:update` only if it had been verified;
 * - an observed address (identify keeps only non-TCP ones, js-libp2p#2620):
 * `type: 'observed', verified: false, expires: 0`; confirmed: verified;
 * failed: removed from the list, silently when it was never verified.
 */
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { nodeAddress, stubComponents } from './fixtures/stubs.ts'
import type { NatStatusChange } from '@x/interface'

const RETRY = 300_000
const TTL = 600_000

describe('NAT status', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  async function setup (init = {}): Promise<{ service: UniversalConnectivity, stubs: Awaited<ReturnType<typeof stubComponents>>, changes: NatStatusChange[], update(): void }> {
    const stubs = await stubComponents()
    const changes: NatStatusChange[] = []
    stubs.events.addEventListener('connectivity:nat-status', (evt) => { changes.push(evt.detail) })
    const service = new UniversalConnectivity(stubs.components, { natCheckInterval: 5_000, ...init })
    await service.start()
    await service.afterStart()
    const update = (): void => { stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any }) }
    return { service, stubs, changes, update }
  }

  it('is unknown with only private and loopback addresses, however long', async () => {
    const { service, stubs, changes, update } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/127.0.0.1/tcp/1', { verified: true, expires: Date.now() + TTL }), nodeAddress('/ip4/192.168.1.5/tcp/1', { verified: true, expires: Date.now() + TTL }))
    update()
    await clock.tickAsync(600_000)
    expect(service.getNatStatus()).to.equal('unknown')
    expect(service.getMetrics().nat.reason).to.include('no public address')
    expect(changes).to.be.empty()
    await service.stop()
  })

  it('turns public when AutoNAT confirms a public transport address', async () => {
    const { service, stubs, changes, update } = await setup()
    const addr = nodeAddress('/ip4/13.0.0.5/tcp/4001')
    stubs.addresses.push(addr)
    update()
    expect(service.getNatStatus()).to.equal('unknown')
    expect(service.getMetrics().nat.reason).to.include('not verified yet')

    Object.assign(addr, { verified: true, expires: Date.now() + TTL, lastVerified: Date.now() })
    update()
    expect(service.getNatStatus()).to.equal('public')
    expect(changes).to.have.lengthOf(1)
    expect(changes[0]).to.include({ previous: 'unknown', status: 'public' })
    expect(changes[0].reason).to.include('AutoNAT verified').and.include('/ip4/13.0.0.5/tcp/4001')
    await service.stop()
  })

  it('turns private when AutoNAT fails a public transport address, and public when a later check confirms it', async () => {
    const { service, stubs, changes, update } = await setup()
    const addr = nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: false, expires: Date.now() + RETRY })
    stubs.addresses.push(addr)
    update()
    expect(service.getNatStatus()).to.equal('private')
    expect(changes[0].reason).to.include('AutoNAT could not dial').and.include('/ip4/13.0.0.5/tcp/4001')

    // the retry time passes: AutoNAT tests it again, the failure stands meanwhile
    await clock.tickAsync(RETRY + 5_000)
    expect(service.getNatStatus()).to.equal('private')

    Object.assign(addr, { verified: true, expires: Date.now() + TTL })
    update()
    expect(changes.map(c => c.status)).to.deep.equal(['private', 'public'])
    await service.stop()
  })

  it('turns private when AutoNAT silently removes an observed address it could not dial (found by polling)', async () => {
    const { service, stubs, changes, update } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/10.0.1.2/udp/4001/quic-v1', { verified: true, expires: Date.now() + TTL }))
    stubs.addresses.push(nodeAddress('/ip4/16.0.0.1/udp/4001/quic-v1', { type: 'observed' }))
    update()
    expect(service.getNatStatus()).to.equal('unknown')

    // 8 failed dial-backs: removeObservedAddr drops it without self:peer:update
    stubs.addresses.pop()
    await clock.tickAsync(5_000)
    expect(service.getNatStatus()).to.equal('private')
    expect(changes).to.have.lengthOf(1)
    expect(changes[0].reason).to.include('AutoNAT could not dial').and.include('/ip4/16.0.0.1/udp/4001/quic-v1')
    await service.stop()
  })

  it('turns private when AutoNAT removes an observed address it had verified and fails on re-verification', async () => {
    const { service, stubs, changes, update } = await setup()
    const observed = nodeAddress('/ip4/16.0.0.1/udp/4001/quic-v1', { type: 'observed', verified: true, expires: Date.now() + TTL })
    stubs.addresses.push(observed)
    update()
    expect(service.getNatStatus()).to.equal('public')
    stubs.addresses.pop()
    update()
    expect(changes.map(c => c.status)).to.deep.equal(['public', 'private'])
    expect(changes[1].reason).to.include('AutoNAT could not dial')
    await service.stop()
  })

  it('does not read an observed address replaced by a port mapping of the same address as a failure', async () => {
    const { service, stubs, update } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/16.0.0.1/udp/4001/quic-v1', { type: 'observed' }))
    update()
    stubs.addresses.pop()
    stubs.addresses.push(nodeAddress('/ip4/16.0.0.1/udp/4001/quic-v1', { type: 'ip-mapping' }))
    await clock.tickAsync(5_000)
    expect(service.getNatStatus()).to.equal('unknown')
    await service.stop()
  })

  it('turns private with a relay reservation and nothing verified, and a verified address wins over it', async () => {
    const { service, stubs, changes, update } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/11.0.0.1/tcp/4001/p2p/12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH/p2p-circuit', { verified: true }))
    update()
    expect(service.getNatStatus()).to.equal('private')
    expect(service.getMetrics().relay.reservations).to.deep.equal(['12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'])

    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: true, expires: Date.now() + TTL }))
    update()
    expect(service.getNatStatus()).to.equal('public')
    expect(changes.map(c => c.status)).to.deep.equal(['private', 'public'])
    await service.stop()
  })

  it('says announced, not verified, for an address the user announced', async () => {
    const { service, stubs, changes, update } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { type: 'announce', verified: true, expires: Date.now() + TTL }))
    update()
    expect(service.getNatStatus()).to.equal('public')
    expect(changes[0].reason).to.include('announced')
    await service.stop()
  })

  it('bounds the observed addresses it remembers', async () => {
    const { service, stubs, update } = await setup()
    for (let i = 0; i < 200; i++) {
      stubs.addresses.push(nodeAddress(`/ip4/16.0.${Math.floor(i / 250)}.${(i % 250) + 1}/udp/4001/quic-v1`, { type: 'observed' }))
    }
    update()
    expect((service as any).nat.remembered()).to.be.at.most(64)
    await service.stop()
  })
})
