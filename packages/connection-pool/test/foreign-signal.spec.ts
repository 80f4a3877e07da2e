/**
 * Signals libp2p accepts (issue 12, review of the argument checks): libp2p
 * combines signals with `any-signal`, which takes any object with `aborted`,
 * `reason` and `addEventListener`/`removeEventListener`, so an `AbortSignal`
 * from another realm (an iframe, a test environment such as jsdom) or a
 * polyfill works with `libp2p.dial`. The pool accepts the same signals,
 * follows their abort, and leaves no listener on them after the call.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { createHarness, hangUntilAborted } from './fixtures/harness.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** An AbortSignal-like object that is not an instance of this realm's AbortSignal */
class ForeignSignal extends EventTarget {
  aborted = false
  reason: any = undefined
  onabort = null
  listeners = 0

  addEventListener (type: string, listener: any, options?: any): void {
    this.listeners++
    super.addEventListener(type, listener, options)
  }

  removeEventListener (type: string, listener: any, options?: any): void {
    this.listeners--
    super.removeEventListener(type, listener, options)
  }

  throwIfAborted (): void {
    if (this.aborted) {
      throw this.reason // eslint-disable-line @typescript-eslint/only-throw-error
    }
  }

  abort (reason: Error): void {
    this.aborted = true
    this.reason = reason
    this.dispatchEvent(new Event('abort'))
  }
}

describe('AbortSignal-like signals from another realm or a polyfill', () => {
  let peer: PeerId
  let clock: sinon.SinonFakeTimers

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('dial and newStream work with one, and leave no listener on it', async () => {
    const harness = createHarness(peer)
    const signal = new ForeignSignal()
    expect(signal).to.not.be.an.instanceOf(AbortSignal)

    expect(await harness.pool.dial(peer, { signal: signal as any })).to.have.lengthOf(3)
    expect(await harness.pool.newStream(peer, '/x/1.0.0', { signal: signal as any })).to.have.property('protocol', '/x/1.0.0')
    expect(signal.listeners).to.equal(0)
    await harness.pool.stop()
  })

  it('its abort ends a dial with its reason', async () => {
    const harness = createHarness(peer)
    harness.connectionManager.openConnection.callsFake(async (_p, options?: AbortOptions) => hangUntilAborted(options))
    const signal = new ForeignSignal()
    const reason = Object.assign(new Error('the user gave up'), { name: 'AbortError' })

    const result = harness.pool.dial(peer, { signal: signal as any }).catch(err => err)
    await clock.tickAsync(10)
    signal.abort(reason)
    await clock.tickAsync(10)

    expect(await result).to.equal(reason)
    expect(signal.listeners).to.equal(0)
    await harness.pool.stop()
  })

  it('one aborted already rejects at once with its reason, nothing dialled', async () => {
    const harness = createHarness(peer)
    const signal = new ForeignSignal()
    const reason = Object.assign(new Error('gave up before'), { name: 'AbortError' })
    signal.abort(reason)

    expect(await harness.pool.dial(peer, { signal: signal as any }).catch(err => err)).to.equal(reason)
    expect(harness.connectionManager.openConnection.callCount).to.equal(0)
    await harness.pool.stop()
  })
})
