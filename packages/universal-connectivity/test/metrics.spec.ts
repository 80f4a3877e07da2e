import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, nodeAddress, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Metrics } from '@libp2p/interface'

interface Registered { kind: 'gauge' | 'counter', calculate(): any }

function fakeMetrics (): { metrics: Metrics, registered: Map<string, Registered>, scrape(): Record<string, any> } {
  const registered = new Map<string, Registered>()
  const add = (kind: 'gauge' | 'counter') => (name: string, options: any) => { registered.set(name, { kind, calculate: options.calculate }) }
  const metrics = {
    registerMetric: add('gauge'),
    registerMetricGroup: add('gauge'),
    registerCounter: add('counter'),
    registerCounterGroup: add('counter')
  } as unknown as Metrics
  // a scrape reads every registered metric in one go
  const scrape = (): Record<string, any> => Object.fromEntries([...registered].map(([name, r]) => [name, r.calculate()]))
  return { metrics, registered, scrape }
}

describe('metrics registration', () => {
  it('registers gauges and counters apart under x_connectivity_, counters ending in _total and only counters', async () => {
    const stubs = await stubComponents()
    const { metrics, registered, scrape } = fakeMetrics()
    const service = new UniversalConnectivity({ ...stubs.components, metrics })
    await service.start()
    await service.afterStart()

    expect([...registered.keys()].sort()).to.deep.equal([
      'x_connectivity_connections',
      'x_connectivity_connections_closed_total',
      'x_connectivity_connections_opened_total',
      'x_connectivity_dials_total',
      'x_connectivity_discovered_peers',
      'x_connectivity_discovery_events_total',
      'x_connectivity_hole_punches_total',
      'x_connectivity_nat_status',
      'x_connectivity_pending_upgrades',
      'x_connectivity_relay_reservations',
      'x_connectivity_reversals_total'
    ])

    for (const [name, { kind }] of registered) {
      expect(kind === 'counter', name).to.equal(name.endsWith('_total'))
    }

    const conn = fakeConnection(await peerId(), { relayed: true })
    stubs.connections.push(conn)
    stubs.events.safeDispatchEvent('connection:open', { detail: conn })
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: true }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })

    const values = scrape()
    expect(values.x_connectivity_connections_opened_total).to.deep.equal({ direct: 0, relay: 1, reversal: 0, hole_punch: 0 })
    expect(values.x_connectivity_connections).to.deep.equal({ direct: 0, relayed: 1 })
    expect(values.x_connectivity_pending_upgrades).to.equal(1)
    expect(values.x_connectivity_hole_punches_total).to.deep.equal({ success: 0, failure: 0 })
    expect(values.x_connectivity_nat_status).to.deep.equal({ unknown: 0, private: 0, public: 1 })
    expect(values.x_connectivity_dials_total).to.deep.equal({ direct: 0, relay: 0, reversal: 0, hole_punch: 0, failed: 0 })
    expect(values.x_connectivity_discovered_peers).to.deep.equal({ mdns: 0, pubsub: 0, dht: 0, bootstrap: 0, other: 0 })
    await service.stop()
  })

  it('takes one snapshot per scrape', async () => {
    const stubs = await stubComponents()
    const { metrics, scrape } = fakeMetrics()
    const service = new UniversalConnectivity({ ...stubs.components, metrics })
    await service.start()
    await service.afterStart()
    const snapshot = sinon.spy(service, 'getMetrics')
    scrape()
    expect(snapshot.callCount).to.equal(1)
    await new Promise(resolve => setTimeout(resolve, 5))
    scrape()
    expect(snapshot.callCount).to.equal(2)
    await service.stop()
  })

  it('takes its prefix from metricsPrefix, so two instances do not collide, and validates it', async () => {
    const stubs = await stubComponents()
    const { metrics, registered } = fakeMetrics()
    const service = new UniversalConnectivity({ ...stubs.components, metrics }, { metricsPrefix: 'node2_connectivity_' })
    await service.start()
    expect([...registered.keys()].every(name => name.startsWith('node2_connectivity_'))).to.be.true()
    expect(() => new UniversalConnectivity(stubs.components, { metricsPrefix: 'bad prefix' })).to.throw().with.property('name', 'InvalidConnectivityOptionError')
    await service.stop()
  })

  it('reports dial failures once, under dials', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components)
    await service.start()
    const m = service.getMetrics()
    expect(m.connections).to.not.have.property('failed')
    expect(m.dials).to.have.property('failed', 0)
    await service.stop()
  })
})
