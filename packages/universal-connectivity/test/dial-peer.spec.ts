import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const RELAY = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'

describe('dialPeer', () => {
  async function setup (init = {}): Promise<any> {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 1_000, relayDialTimeout: 1_000, upgradeTimeout: 2_000, ...init })
    await service.start()
    await service.afterStart()
    const failed: any[] = []
    stubs.events.addEventListener('connectivity:dial-failed', (evt) => { failed.push(evt.detail) })
    return { stubs, service, failed }
  }

  function opens (stubs: any, behaviour: (addrs: Multiaddr[]) => Connection | Error): void {
    stubs.connectionManager.openConnection.callsFake(async (addrs: Multiaddr[]) => {
      const out = behaviour(addrs)
      if (out instanceof Error) { throw out }
      stubs.connections.push(out)
      stubs.events.safeDispatchEvent('connection:open', { detail: out })
      return out
    })
  }

  const timeoutError = (): Error => Object.assign(new Error('timed out'), { name: 'TimeoutError' })

  it('returns the direct connection when a direct address answers', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    opens(stubs, () => fakeConnection(peer))
    const result = await service.dialPeerWithResult(peer, { addrs: [multiaddr('/ip4/12.0.0.2/tcp/4001')] })
    expect(result.path).to.equal('direct')
    expect(result.attempts.map((a: any) => a.path)).to.deep.equal(['direct'])
    expect(stubs.connectionManager.openConnection.firstCall.args[0].map(String)).to.deep.equal([`/ip4/12.0.0.2/tcp/4001/p2p/${peer}`])
    expect(service.getMetrics().dials).to.deep.equal({ total: 1, direct: 1, relay: 0, reversal: 0, holePunch: 0, failed: 0 })
    await service.stop()
  })

  it('reuses an open direct connection without dialling', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    stubs.connections.push(fakeConnection(peer))
    const result = await service.dialPeerWithResult(peer)
    expect(result).to.include({ path: 'direct', existing: true })
    expect(stubs.connectionManager.openConnection.called).to.be.false()
    await service.stop()
  })

  it('falls back to the target\'s circuit address, then reports the hole punch that follows the DCUtR exchange', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    let direct: Connection | undefined
    opens(stubs, (addrs) => {
      if (addrs.some(a => a.getComponents().some(c => c.name === 'p2p-circuit'))) {
        const relayed = fakeConnection(peer, { relayed: true })
        // the remote starts DCUtR on the relayed connection; the direct connection arrives a little later
        setTimeout(() => {
          relayed.streams.push({ protocol: '/libp2p/dcutr' } as any)
          direct = fakeConnection(peer, { direction: 'inbound' })
          stubs.connections.push(direct)
          stubs.events.safeDispatchEvent('connection:open', { detail: direct })
        }, 10)
        return relayed
      }
      return timeoutError()
    })
    const result = await service.dialPeerWithResult(peer, { addrs: [multiaddr('/ip4/10.1.0.2/tcp/4001'), multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)] })
    expect(result.path).to.equal('hole-punch')
    expect(result.connection).to.equal(direct)
    expect(result.relayed?.limits).to.exist()
    expect(result.attempts.map((a: any) => [a.path, a.error?.split(':')[0]])).to.deep.equal([['direct', 'TimeoutError'], ['relay', undefined]])
    expect(result.attempts[1].addrs.map(String)).to.deep.equal([`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${peer}`])
    expect(service.getMetrics().holePunch).to.include({ successes: 1 })
    expect(service.getMetrics().dials).to.include({ holePunch: 1, reversal: 0 })
    await service.stop()
  })

  it('reports a reversal when the peer dials us directly over the relayed connection\'s lifetime without DCUtR', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    opens(stubs, () => {
      setTimeout(() => {
        const direct = fakeConnection(peer, { direction: 'inbound' })
        stubs.connections.push(direct)
        stubs.events.safeDispatchEvent('connection:open', { detail: direct })
      }, 10)
      return fakeConnection(peer, { relayed: true })
    })
    const result = await service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)] })
    expect(result.path).to.equal('reversal')
    expect(service.getMetrics().holePunch).to.include({ attempts: 0, reversals: 1 })
    expect(service.getMetrics().dials).to.include({ holePunch: 0, reversal: 1 })
    await service.stop()
  })

  it('returns the relayed connection when no upgrade comes within upgradeTimeout', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    try {
      const { stubs, service } = await setup()
      const peer = await peerId()
      opens(stubs, () => fakeConnection(peer, { relayed: true }))
      const dial = service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)] })
      await clock.tickAsync(2_000)
      const result = await dial
      expect(result.path).to.equal('relay')
      expect(result.attempts.map((a: any) => a.path)).to.deep.equal(['relay'])
      await service.stop()
    } finally {
      clock.restore()
    }
  })

  it('rejects with every attempt listed and dispatches dial-failed', async () => {
    const { stubs, service, failed } = await setup()
    const peer = await peerId()
    opens(stubs, () => timeoutError())
    const err = await service.dialPeer(peer, { addrs: [multiaddr('/ip4/10.1.0.2/tcp/4001'), multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)] }).catch((e: any) => e)
    expect(err.name).to.equal('ConnectivityDialError')
    expect(err.attempts).to.have.lengthOf(2)
    expect(err.message).to.include('direct /ip4/10.1.0.2/tcp/4001').and.include('p2p-circuit')
    expect(failed).to.have.lengthOf(1)
    expect(failed[0].error).to.equal('ConnectivityDialError')
    expect(service.getMetrics().dials.failed).to.equal(1)
    await service.stop()
  })

  it('does not use a relay when useRelay is false', async () => {
    const { stubs, service } = await setup()
    const peer = await peerId()
    opens(stubs, () => timeoutError())
    const err = await service.dialPeer(peer, { addrs: [multiaddr('/ip4/10.1.0.2/tcp/4001')], useRelay: false }).catch((e: any) => e)
    expect(err.attempts.map((a: any) => a.path)).to.deep.equal(['direct'])
    const none = await service.dialPeer(await peerId(), { useRelay: false }).catch((e: any) => e)
    expect(none.name).to.equal('NoDialableAddressError')
    await service.stop()
  })

  it('validates its options and needs to be started', async () => {
    const stubs = await stubComponents()
    expect(() => new UniversalConnectivity(stubs.components, { directDialTimeout: -1 })).to.throw().with.property('name', 'InvalidConnectivityOptionError')
    expect(() => new UniversalConnectivity(stubs.components, { maxPeers: 0 })).to.throw().with.property('name', 'InvalidConnectivityOptionError')
    const service = new UniversalConnectivity(stubs.components)
    const err = await service.dialPeer(await peerId()).catch((e: any) => e)
    expect(err.name).to.equal('NotStartedError')
  })
})
