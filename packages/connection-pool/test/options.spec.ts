import { expect } from 'aegir/chai'
import { resolveOptions } from '../src/options.ts'
import { backoffDelay, isRetryable } from '../src/retry.ts'

describe('options', () => {
  it('resolves the documented defaults', () => {
    const options = resolveOptions({})
    expect(options.maxConnectionsPerPeer).to.equal(3)
    expect(options.minConnectionsPerPeer).to.equal(1)
    expect(options.retry).to.deep.equal({ maxRetries: 3, initialDelay: 500, maxDelay: 10_000, backoffMultiplier: 2, jitterFactor: 0.2 })
  })

  for (const [name, init] of Object.entries({
    'negative maxConnectionsPerPeer': { maxConnectionsPerPeer: -1 },
    'zero maxConnectionsPerPeer': { maxConnectionsPerPeer: 0 },
    'negative minConnectionsPerPeer': { minConnectionsPerPeer: -2 },
    'min > max': { minConnectionsPerPeer: 4, maxConnectionsPerPeer: 3 },
    'fractional maxConnections': { maxConnections: 2.5 },
    'negative dialTimeout': { dialTimeout: -1 },
    'jitter above 1': { retry: { jitterFactor: 1.5 } },
    'maxDelay below initialDelay': { retry: { initialDelay: 1000, maxDelay: 10 } },
    'shrinking backoff': { retry: { backoffMultiplier: 0.5 } },
    'negative retries': { retry: { maxRetries: -1 } }
  })) {
    it(`rejects ${name} with InvalidPoolOptionError`, () => {
      expect(() => resolveOptions(init as any)).to.throw().with.property('name', 'InvalidPoolOptionError')
    })
  }

  Object.entries({
    'init null': null,
    'init a string': 'fast',
    'init an array': [],
    'a numeric tagName': { tagName: 42 },
    'an empty tagName': { tagName: '' },
    'reportStreams as a string': { reportStreams: 'false' },
    'retry as a number': { retry: 5 },
    'maxConnectionsPerPeer as a string': { maxConnectionsPerPeer: '3' },
    'dialTimeout as a string': { dialTimeout: '1000' },
    'dialTimeout beyond a timer': { dialTimeout: 2 ** 31 },
    'idleTimeout beyond a timer': { idleTimeout: Number.MAX_SAFE_INTEGER }
  }).forEach(([name, init]) => {
    it(`rejects ${name} with InvalidPoolOptionError`, () => {
      expect(() => resolveOptions(init as any)).to.throw().with.property('name', 'InvalidPoolOptionError')
    })
  })

  it('rejects an unknown strategy with UnknownStrategyError', () => {
    expect(() => resolveOptions({ strategy: 'random' as any })).to.throw().with.property('name', 'UnknownStrategyError')
  })
})

describe('retry', () => {
  const retry = { maxRetries: 5, initialDelay: 100, maxDelay: 1000, backoffMultiplier: 2, jitterFactor: 0.5 }

  it('grows exponentially without jitter', () => {
    const noJitter = { ...retry, jitterFactor: 0 }
    expect([1, 2, 3, 4, 5, 6].map(n => backoffDelay(n, noJitter))).to.deep.equal([100, 200, 400, 800, 1000, 1000])
  })

  it('never exceeds maxDelay or goes below zero, jitter included', () => {
    for (let n = 1; n < 12; n++) {
      expect(backoffDelay(n, retry, () => 1)).to.be.at.most(1000)
      expect(backoffDelay(n, retry, () => 0)).to.be.at.least(0)
    }
    // jitter moves the delay both ways
    expect(backoffDelay(1, retry, () => 0)).to.equal(50)
    expect(backoffDelay(1, retry, () => 1)).to.equal(150)
  })

  it('does not retry a peer-id mismatch or a denied dial', () => {
    expect(isRetryable(Object.assign(new Error(), { name: 'UnexpectedPeerError' }))).to.be.false()
    expect(isRetryable(Object.assign(new Error(), { name: 'DialDeniedError' }))).to.be.false()
    expect(isRetryable(Object.assign(new Error(), { name: 'ConnectionDeniedError' }))).to.be.false()
    expect(isRetryable(Object.assign(new Error(), { name: 'TimeoutError' }))).to.be.true()
    expect(isRetryable(new Error('ECONNREFUSED'))).to.be.true()
    // as libp2p really surfaces them: wrapped by the upgrader, or aggregated over addresses
    expect(isRetryable(Object.assign(new Error('Unexpected peer'), { name: 'EncryptionFailedError' }))).to.be.false()
    const aggregate = new AggregateError([Object.assign(new Error('x'), { name: 'UnexpectedPeerError' }), Object.assign(new Error('y'), { name: 'DialDeniedError' })], 'all failed')
    expect(isRetryable(aggregate)).to.be.false()
    expect(isRetryable(new AggregateError([new Error('ECONNREFUSED'), Object.assign(new Error('x'), { name: 'UnexpectedPeerError' })]))).to.be.true()
  })
})
