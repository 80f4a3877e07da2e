/**
 * Wrong argument types get a named error (issue 12, review): protocols,
 * options and signals of `dial`/`newStream`, and the peer of the query
 * methods and `release()`. Nothing is dialled for a rejected call.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { createHarness } from './fixtures/harness.ts'
import type { Harness } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

describe('wrong argument types', () => {
  let peer: PeerId
  let harness: Harness

  beforeEach(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    harness = createHarness(peer)
  })

  afterEach(async () => {
    await harness.pool.stop()
  })

  const protocols: Record<string, unknown> = {
    'a number': 42,
    null: null,
    undefined,
    'an empty string': '',
    'an empty list': [],
    'a list with a number': ['/x/1.0.0', 7],
    'an object': { protocol: '/x/1.0.0' }
  }

  Object.entries(protocols).forEach(([name, value]) => {
    it(`newStream with ${name} as protocols: InvalidParametersError, nothing dialled`, async () => {
      const err = await harness.pool.newStream(peer, value as any).catch(err => err)

      expect(err).to.have.property('name', 'InvalidParametersError')
      expect(harness.connectionManager.openConnection.callCount).to.equal(0)
      expect(harness.pool.getMetrics().peers).to.equal(0)
    })
  })

  const options: Record<string, unknown> = {
    null: null,
    'a string': 'fast',
    'a signal that is not an AbortSignal': { signal: 'abort' },
    'a signal-like object': { signal: { aborted: false } }
  }

  Object.entries(options).forEach(([name, value]) => {
    it(`dial and newStream with ${name} as options: InvalidParametersError, nothing dialled`, async () => {
      const dialled = await harness.pool.dial(peer, value as any).catch(err => err)
      const opened = await harness.pool.newStream(peer, '/x/1.0.0', value as any).catch(err => err)

      expect(dialled).to.have.property('name', 'InvalidParametersError')
      expect(opened).to.have.property('name', 'InvalidParametersError')
      expect(harness.connectionManager.openConnection.callCount).to.equal(0)
      expect(harness.pool.getMetrics().peers).to.equal(0)
    })
  })

  const peers: Record<string, unknown> = {
    null: null,
    'a string': '12D3KooWAbc',
    'a number': 42,
    'a plain object': { toString: () => '12D3KooWAbc' }
  }

  Object.entries(peers).forEach(([name, value]) => {
    it(`getConnection, getStatus, getConnections and release with ${name}: InvalidParametersError`, async () => {
      expect(() => harness.pool.getConnection(value as any)).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => harness.pool.getStatus(value as any)).to.throw().with.property('name', 'InvalidParametersError')

      if (value != null) {
        // getConnections() without a peer returns every pooled connection
        expect(() => harness.pool.getConnections(value as any)).to.throw().with.property('name', 'InvalidParametersError')
      }

      await expect(harness.pool.release(value as any)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    })
  })

  it('the same calls with good arguments work', async () => {
    await harness.pool.dial(peer, { signal: new AbortController().signal })
    expect(await harness.pool.newStream(peer, ['/x/1.0.0'], {})).to.have.property('protocol', '/x/1.0.0')
    expect(harness.pool.getConnections(peer)).to.have.lengthOf(3)
    expect(harness.pool.getStatus(peer)).to.equal('connected')
    await harness.pool.release(peer)
    expect(harness.pool.getStatus(peer)).to.equal(undefined)
  })
})
