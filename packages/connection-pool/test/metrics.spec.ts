import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { METRIC_NAMES } from '../src/index.ts'
import { PoolService } from '../src/pool.ts'
import type { Libp2pEvents, Metrics, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** The names and kinds a pool registers with libp2p's metrics component */
function registered (metricsPrefix?: string): Array<{ name: string, kind: string }> {
  const names: Array<{ name: string, kind: string }> = []
  const record = (kind: string) => (name: string): any => { names.push({ name, kind }) }
  const metrics = {
    registerMetric: record('gauge'),
    registerMetricGroup: record('gauge'),
    registerCounter: record('counter'),
    registerCounterGroup: record('counter')
  } as unknown as Metrics

  // eslint-disable-next-line no-new
  new PoolService({
    connectionManager: stubInterface<ConnectionManager>(),
    peerStore: stubInterface<PeerStore>(),
    events: new TypedEventEmitter<Libp2pEvents>(),
    logger: defaultLogger(),
    metrics
  }, metricsPrefix == null ? {} : { metricsPrefix })

  return names
}

describe('metrics', () => {
  it('registers every metric under x_connection_pool_ by default; counters, and only counters, end in _total', () => {
    const names = registered()

    expect(names.map(n => n.name).sort()).to.deep.equal(Object.values(METRIC_NAMES).map(n => `x_connection_pool_${n}`).sort())
    for (const { name, kind } of names) {
      expect(name.endsWith('_total'), name).to.equal(kind === 'counter')
    }
  })

  it('uses metricsPrefix, so two pools do not collide', () => {
    const names = registered('x_pool_b_').map(n => n.name)

    expect(names).to.have.lengthOf(Object.keys(METRIC_NAMES).length)
    expect(names.every(n => n.startsWith('x_pool_b_'))).to.be.true()
    expect(names.some(n => n.startsWith('x_connection_pool_'))).to.be.false()
  })

  it('rejects a prefix that cannot start a Prometheus metric name', () => {
    expect(() => registered('x-pool ')).to.throw().with.property('name', 'InvalidPoolOptionError')
  })
})
