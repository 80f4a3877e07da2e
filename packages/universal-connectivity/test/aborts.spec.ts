import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { UniversalConnectivity } from '../src/connectivity.ts'
import { fakeConnection, peerId, stubComponents } from './fixtures/stubs.ts'
import type { Stubs } from './fixtures/stubs.ts'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const RELAY = '12D3KooWGRUVh9SqgWbYu6TH5qBUC3ZaZWXgDAmJDAvtkVsy7VWH'

/** openConnection that never settles on its own: it rejects with the signal's reason when aborted */
function hangingOpen (stubs: Stubs): void {
  stubs.connectionManager.openConnection.callsFake(async (_addrs: Multiaddr | Multiaddr[] | any, options: any = {}) => {
    return new Promise<Connection>((_resolve, reject) => {
      if (options.signal?.aborted === true) {
        reject(options.signal.reason)
        return
      }
      options.signal?.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
    })
  })
}

describe('dialPeer aborts', function () {
  this.timeout(10_000)
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  async function setup (): Promise<{ stubs: Stubs, service: UniversalConnectivity, failed: any[] }> {
    const stubs = await stubComponents()
    const service = new UniversalConnectivity(stubs.components, { directDialTimeout: 60_000, relayDialTimeout: 60_000, upgradeTimeout: 60_000 })
    await service.start()
    await service.afterStart()
    const failed: any[] = []
    stubs.events.addEventListener('connectivity:dial-failed', (evt) => { failed.push(evt.detail) })
    return { stubs, service, failed }
  }

  it('rejects with an AbortError at once when the signal is already aborted, without dialling', async () => {
    const { stubs, service } = await setup()
    hangingOpen(stubs)
    const err = await service.dialPeer(await peerId(), { addrs: [multiaddr('/ip4/12.0.0.2/tcp/4001')], signal: AbortSignal.abort() }).catch((e: any) => e)
    expect(err).to.have.property('name', 'AbortError')
    expect(stubs.connectionManager.openConnection.called).to.be.false()
    await service.stop()
  })

  it('rejects with the signal\'s reason (an AbortError) while dialling the direct addresses', async () => {
    const { stubs, service } = await setup()
    hangingOpen(stubs)
    const controller = new AbortController()
    const dial = service.dialPeer(await peerId(), { addrs: [multiaddr('/ip4/12.0.0.2/tcp/4001'), multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)], signal: controller.signal })
    const settled = dial.catch((e: any) => e)
    await clock.tickAsync(100)
    controller.abort()
    const err = await settled
    expect(err).to.have.property('name', 'AbortError')
    expect(err).to.equal(controller.signal.reason)
    // the relay was not tried after the abort
    expect(stubs.connectionManager.openConnection.callCount).to.equal(1)
    await service.stop()
  })

  it('rejects with an AbortError while dialling a relay', async () => {
    const { stubs, service } = await setup()
    hangingOpen(stubs)
    const controller = new AbortController()
    const settled = service.dialPeer(await peerId(), { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)], signal: controller.signal }).catch((e: any) => e)
    await clock.tickAsync(100)
    controller.abort()
    expect(await settled).to.have.property('name', 'AbortError')
    await service.stop()
  })

  it('rejects with an AbortError while waiting for the DCUtR upgrade (not a relayed result)', async () => {
    const { stubs, service, failed } = await setup()
    const peer = await peerId()
    stubs.connectionManager.openConnection.callsFake(async () => {
      const conn = fakeConnection(peer, { relayed: true })
      stubs.connections.push(conn)
      stubs.events.safeDispatchEvent('connection:open', { detail: conn })
      return conn
    })
    const controller = new AbortController()
    const settled = service.dialPeerWithResult(peer, { addrs: [multiaddr(`/ip4/11.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit`)], signal: controller.signal }).catch((e: any) => e)
    await clock.tickAsync(1_000)
    controller.abort()
    const err = await settled
    expect(err).to.have.property('name', 'AbortError')
    expect(failed.map(f => f.error)).to.deep.equal(['AbortError'])
    await service.stop()
  })

  it('keeps a caller-given reason', async () => {
    const { stubs, service } = await setup()
    hangingOpen(stubs)
    const controller = new AbortController()
    const reason = Object.assign(new Error('shutting down'), { name: 'ShutdownError' })
    const settled = service.dialPeer(await peerId(), { addrs: [multiaddr('/ip4/12.0.0.2/tcp/4001')], signal: controller.signal }).catch((e: any) => e)
    await clock.tickAsync(10)
    controller.abort(reason)
    expect(await settled).to.equal(reason)
    await service.stop()
  })
})
