import { expect } from 'aegir/chai'
import { holePunching } from '../src/index.ts'

describe('options', () => {
  for (const [name, value] of [['minObservers', 0], ['minObservers', 1.5], ['exchangeTimeout', -1], ['dialTimeout', Number.NaN], ['maxAttempts', 0], ['maxConcurrent', '8'], ['allowPrivateAddresses', 'yes'], ['metricsPrefix', 3], ['onOutcome', 'f']] as const) {
    it(`rejects ${name}: ${String(value)} at construction`, () => {
      expect(() => holePunching({ [name]: value } as any)).to.throw().with.property('name', 'InvalidHolePunchingOptionError')
    })
  }

  it('accepts no options', () => {
    expect(holePunching()).to.be.a('function')
  })
})
