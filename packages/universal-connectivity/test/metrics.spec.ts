import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, nodeAddress, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Metrics } from '@libp2p/interface'

describe('metrics registration', () => {
  it('registers calculated metric groups that read the live snapshot', async () => {
    const stubs = await stubComponents()
    const groups = new Map<string, () => Record<string, number>>()
    const metrics = {
      registerMetricGroup: (name: string, options: any) => { groups.set(name, options.calculate) }
    } as unknown as Metrics
    const service = new UniversalConnectivity({ ...stubs.components, metrics })
    await service.start()
    await service.afterStart()

    expect([...groups.keys()].sort()).to.deep.equal([
      'libp2p_universal_connectivity_connections',
      'libp2p_universal_connectivity_discovered_peers',
      'libp2p_universal_connectivity_hole_punch',
      'libp2p_universal_connectivity_nat'
    ])

    const conn = fakeConnection(await peerId(), { relayed: true })
    stubs.connections.push(conn)
    stubs.events.safeDispatchEvent('connection:open', { detail: conn })
    stubs.addresses.push(nodeAddress('/ip4/13.0.0.5/tcp/4001', { verified: true }))
    stubs.events.safeDispatchEvent('self:peer:update', { detail: {} as any })

    expect(groups.get('libp2p_universal_connectivity_connections')?.()).to.include({ established_relay: 1, active_relayed: 1, active_direct: 0 })
    expect(groups.get('libp2p_universal_connectivity_hole_punch')?.()).to.include({ pending: 1, attempts: 0 })
    expect(groups.get('libp2p_universal_connectivity_nat')?.()).to.deep.equal({ status: 2, reservations: 0 })
    expect(groups.get('libp2p_universal_connectivity_discovered_peers')?.()).to.deep.equal({ mdns: 0, pubsub: 0, dht: 0, bootstrap: 0, other: 0 })
    await service.stop()
  })
})
