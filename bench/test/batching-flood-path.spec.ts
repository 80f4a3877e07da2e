/**
 * The batching compare's loopback flood trials (idle RTT, idle `high`
 * messages and the flood) connect A to B directly by default, with no
 * proxy in between, while the throughput and wire-byte rows still go
 * through the proxy; FLOOD_PATH=proxy keeps the flood trials on the
 * proxied connection. Checked by where the flood connection points and by
 * the bytes the proxy forwarded during the flood trials.
 */
import { expect } from 'aegir/chai'
import { runCompare, sharedCompareRun } from './fixtures/compare-run.ts'
import type { CompareRun } from './fixtures/compare-run.ts'

/** The loopback results of a compare run that succeeded */
function loopbackOf (run: CompareRun): any {
  expect(run.code, run.stderr).to.equal(0)
  return run.results.loopback
}

/** Messages sent through the flood trials' connection: each at least 100 B on the wire */
function floodMessages (loopback: any): number {
  const lows = [...loopback.floods.batching.lows, ...loopback.floods.batchingNoFlow.lows].reduce((a: number, b: number) => a + b, 0)
  const highs = [...loopback.floods.batching.n, ...loopback.floods.batchingNoFlow.n].reduce((a: number, b: number) => a + b, 0)
  return lows + highs
}

describe('batching compare: the loopback flood trials\' connection', function () {
  this.timeout(300_000)

  it('by default goes A -> B with no proxy, while the wire-byte rows go through the proxy', async () => {
    const loopback = loopbackOf(await sharedCompareRun())

    expect(loopback.directAddress).to.not.equal(loopback.proxyAddress)
    expect(loopback.floodConnection.path).to.equal('direct')
    expect(loopback.floodConnection.remoteAddr).to.equal(loopback.directAddress)
    // the flood (thousands of 100 B messages) did not pass the proxy: at most a few control frames did
    expect(floodMessages(loopback)).to.be.greaterThan(1000)
    expect(loopback.floodConnection.proxyBytesUp).to.be.lessThan(10_000)
    // the wire-byte rows were counted at the proxy: at least the 100 B payload per message, and some framing
    for (const mode of ['stream/msg', 'lp-stream', 'batching', 'batching, no flow control']) {
      expect(loopback.raw[mode].wire).to.be.greaterThan(100).and.lessThan(1000)
      // and what went back B -> A meanwhile (acknowledgements, window updates, multistream answers), counted apart
      expect(loopback.raw[mode].wireBack).to.be.a('number').and.greaterThan(0).and.lessThan(1000)
    }
    // a stream per message gets at least its protocol's multistream answer back per message; one stream does not
    expect(loopback.raw['stream/msg'].wireBack).to.be.greaterThan(loopback.raw['lp-stream'].wireBack)
  })

  it('with FLOOD_PATH=proxy goes through the proxy, as the wire-byte rows do', async () => {
    const loopback = loopbackOf(await runCompare({ FLOOD_PATH: 'proxy' }))

    expect(loopback.floodConnection.path).to.equal('proxy')
    expect(loopback.floodConnection.remoteAddr).to.equal(loopback.proxyAddress)
    // every flood and high message crossed the proxy
    expect(loopback.floodConnection.proxyBytesUp).to.be.greaterThan(100 * floodMessages(loopback))
    expect(loopback.raw.batching.wire).to.be.greaterThan(100).and.lessThan(1000)
  })

  it('an unknown FLOOD_PATH is refused before anything starts', async () => {
    const { code, stderr } = await runCompare({ FLOOD_PATH: 'sideways' })

    expect(code).to.not.equal(0)
    expect(stderr).to.include('FLOOD_PATH direct or proxy')
  })
})
