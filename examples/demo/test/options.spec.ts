import { expect } from 'aegir/chai'
import { parseDemoOptions } from '../src/options.ts'

describe('demo options', () => {
  it('has defaults', () => {
    expect(parseDemoOptions([])).to.deep.equal({ nodes: 6, duration: undefined, port: 8080, faults: true, interval: 3 })
  })

  it('parses every option', () => {
    expect(parseDemoOptions(['--nodes', '4', '--duration', '30', '--port', '0', '--no-faults', '--interval', '1'])).to.deep.equal({ nodes: 4, duration: 30, port: 0, faults: false, interval: 1 })
  })

  it('rejects bad values with a named error', () => {
    for (const args of [['--nodes', '1'], ['--nodes', '2.5'], ['--nodes', '99'], ['--duration=-1'], ['--port', '70000'], ['--port', 'x']]) {
      expect(() => parseDemoOptions(args), args.join(' ')).to.throw().with.property('name', 'InvalidDemoOptionError')
    }

    expect(() => parseDemoOptions(['--bogus'])).to.throw()
  })
})
