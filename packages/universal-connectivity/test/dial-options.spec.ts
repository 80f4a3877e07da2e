/**
 * Timeouts given per call are checked as those given at construction are,
 * and both only accept what the timers they feed accept (whole milliseconds
 * up to 2^31 - 1): `AbortSignal.timeout` throws a bare `RangeError` for
 * anything else, and `setTimeout` fires at once past 2^31 - 1.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { peerId, stubComponents } from './fixtures/stubs.ts'

describe('dialPeer options', () => {
  it('rejects per-call timeouts the timers cannot take with InvalidConnectivityOptionError, without dialling', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components)
    await service.start()
    await service.afterStart()
    const addrs = [multiaddr('/ip4/12.0.0.2/tcp/4001')]

    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, '5000']) {
      for (const name of ['directDialTimeout', 'relayDialTimeout', 'upgradeTimeout']) {
        const err = await service.dialPeer(await peerId(), { addrs, [name]: bad }).catch((e: any) => e)
        expect(err, `${name}: ${String(bad)}`).to.have.property('name', 'InvalidConnectivityOptionError')
      }
    }

    expect(stubs.connectionManager.openConnection.called).to.be.false()
    await service.stop()
  })

  it('rejects an addrs option that is not an array of multiaddrs with InvalidConnectivityOptionError', async () => {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components)
    await service.start()
    await service.afterStart()
    const peer = await peerId()

    for (const addrs of [multiaddr('/ip4/12.0.0.2/tcp/4001'), '/ip4/12.0.0.2/tcp/4001', ['/ip4/12.0.0.2/tcp/4001'], [null]]) {
      for (const target of [peer, [multiaddr(`/ip4/12.0.0.3/tcp/4001/p2p/${peer}`)]]) {
        const err = await service.dialPeer(target, { addrs: addrs as any }).catch((e: any) => e)
        expect(err, `${Array.isArray(target) ? 'Multiaddr[]' : 'PeerId'} with addrs ${String(addrs)}`).to.have.property('name', 'InvalidConnectivityOptionError')
      }
    }

    expect(stubs.connectionManager.openConnection.called).to.be.false()
    await service.stop()
  })

  it('rejects init timeouts the timers cannot take at construction', async () => {
    const stubs = await stubComponents()

    for (const name of ['directDialTimeout', 'relayDialTimeout', 'upgradeTimeout', 'holePunchWindow', 'natCheckInterval']) {
      for (const bad of [1.5, 2 ** 31]) {
        expect(() => new UniversalConnectivity(stubs.components, { [name]: bad }), `${name}: ${bad}`).to.throw().with.property('name', 'InvalidConnectivityOptionError')
      }
    }
  })
})
