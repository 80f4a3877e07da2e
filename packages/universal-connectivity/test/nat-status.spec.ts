import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { nodeAddress, stubComponents } from './fixtures/stubs.ts'
import type { NatStatusChange } from '@x/interface'

describe('NAT status', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  async function setup (init = {}): Promise<{ service: UniversalConnectivity, stubs: Awaited<ReturnType<typeof stubComponents>>, changes: NatStatusChange[] }> {
    const stubs = await stubComponents()
    const changes: NatStatusChange[] = []
    stubs.events.addEventListener('connectivity:nat-status', (evt) => { changes.push(evt.detail) })
    const service = new UniversalConnectivity(stubs.components, { natPrivateAfter: 30_000, natCheckInterval: 5_000, ...init })
    await service.start()
    await service.afterStart()
    return { service, stubs, changes }
  }

  it('is unknown with only private and loopback addresses', async () => {
    const { service, stubs, changes } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/127.0.0.1/tcp/1', { verified: true }), nodeAddress('/ip4/192.168.1.5/tcp/1', { verified: true }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await clock.tickAsync(120_000)
    expect(service.getNatStatus()).to.equal('unknown')
    expect(changes).to.be.empty()
    await service.stop()
  })

  it('turns public when AutoNAT verifies a public address, and back to unknown when it lapses', async () => {
    const { service, stubs, changes } = await setup()
    const addr = nodeAddress('/ip4/13.0.0.5/tcp/4001')
    stubs.addresses.push(addr)
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('unknown')
    expect(service.getMetrics().nat.reason).to.include('not verified yet')

    addr.verified = true
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('public')

    addr.verified = false
    addr.expires = 0
    await clock.tickAsync(5_000) // the periodic check notices without an event
    expect(service.getNatStatus()).to.equal('unknown')
    expect(changes.map(c => `${c.previous}->${c.status}`)).to.deep.equal(['unknown->public', 'public->unknown'])
    expect(changes[0].reason).to.include('13.0.0.5')
    await service.stop()
  })

  it('turns private when AutoNAT fails a public transport address', async () => {
    const { service, stubs, changes } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: false, expires: Date.now() + 60_000 }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('private')
    expect(changes[0].reason).to.include('AutoNAT could not dial')
    await service.stop()
  })

  it('turns private with a relay reservation, and public wins over it', async () => {
    const { service, stubs, changes } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/11.0.0.1/tcp/4001/p2p/12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH/p2p-circuit', { verified: true }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('private')
    expect(service.getMetrics().relay.reservations).to.deep.equal(['12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'])

    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: true }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('public')
    expect(changes.map(c => c.status)).to.deep.equal(['private', 'public'])
    await service.stop()
  })

  it('turns private once a translated observed address stays unverified for natPrivateAfter', async () => {
    const { service, stubs, changes } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/10.0.1.2/tcp/4001', { verified: true }))
    stubs.addresses.push(nodeAddress('/ip4/14.0.0.1/tcp/61234', { type: 'observed' }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    expect(service.getNatStatus()).to.equal('unknown')

    await clock.tickAsync(25_000)
    expect(service.getNatStatus()).to.equal('unknown')
    await clock.tickAsync(5_000)
    expect(service.getNatStatus()).to.equal('private')
    expect(changes).to.have.lengthOf(1)
    expect(changes[0].reason).to.include('14.0.0.1')
    await service.stop()
  })

  it('does not count an observed address on our own listen host as translation', async () => {
    const { service, stubs } = await setup()
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001'))
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/50000', { type: 'observed' }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await clock.tickAsync(120_000)
    expect(service.getNatStatus()).to.equal('unknown')
    await service.stop()
  })
})
