/**
 * The demo's libp2p `metrics` component: calculated metrics are read when
 * asked, the others keep what their owner gives them, and a group keeps at
 * most `MAX_GROUP_KEYS` keys.
 */
import { expect } from 'aegir/chai'
import { MAX_GROUP_KEYS, MetricsRegistry } from '../src/registry.ts'

describe('demo metrics registry', () => {
  it('reads calculated metrics when asked, with their help, type and the label a group is served under', async () => {
    const registry = new MetricsRegistry()
    let n = 1
    registry.registerCounter('x_t_total', { help: 'T', calculate: () => n })
    registry.registerMetricGroup('x_t_group', { label: 'kind', calculate: async () => ({ a: n, b: 2 * n }) })
    registry.registerCounterGroup('x_t_unlabelled_total', { calculate: () => ({ a: 1 }) })
    n = 3

    const [counter, group, unlabelled] = registry.registered()
    expect([counter.name, counter.help, counter.type, counter.label, await counter.read()]).to.deep.equal(['x_t_total', 'T', 'counter', undefined, 3])
    expect([group.type, group.label, await group.read()]).to.deep.equal(['gauge', 'kind', { a: 3, b: 6 }])
    // as @libp2p/prometheus-metrics does: a group with no label option is labelled by its name, help defaults to the name
    expect([unlabelled.label, unlabelled.help]).to.deep.equal(['x_t_unlabelled_total', 'x_t_unlabelled_total'])
  })

  it('keeps the values given to metrics that are not calculated', async () => {
    const registry = new MetricsRegistry()
    const gauge = registry.registerMetric('x_t_gauge')
    const group = registry.registerCounterGroup('x_t_events_total')
    gauge.update(5)
    gauge.decrement(2)
    group.increment({ opened: true })
    group.increment({ opened: 2, closed: true })

    const [g, events] = registry.registered()
    expect(await g.read()).to.equal(3)
    expect(await events.read()).to.deep.equal({ opened: 3, closed: 1 })

    // as prom-client resets a labelled metric: every key goes (a group reset
    // and refilled each interval keeps only the keys it was given since)
    group.reset()
    expect(await events.read()).to.deep.equal({})
    gauge.reset()
    expect(await g.read()).to.equal(0)
  })

  it(`takes keys back on reset(): a group reset and refilled keeps accepting new keys past ${MAX_GROUP_KEYS} ever seen`, async () => {
    const registry = new MetricsRegistry()
    const group = registry.registerMetricGroup('x_t_per_peer')

    for (let round = 0; round < 3; round++) {
      group.reset()

      for (let i = 0; i < MAX_GROUP_KEYS; i++) {
        group.update({ [`r${round}-p${i}`]: 1 })
      }
    }

    const values = await registry.registered()[0].read() as Record<string, number>
    expect(Object.keys(values)).to.have.lengthOf(MAX_GROUP_KEYS)
    expect(values['r2-p0']).to.equal(1)
    expect(values['r0-p0']).to.equal(undefined)
    expect(registry.droppedValues, 'values dropped').to.equal(0)
  })

  it('keeps keys named like Object.prototype members as any other key', async () => {
    const registry = new MetricsRegistry()
    const group = registry.registerCounterGroup('x_t_named_total')
    group.increment({ constructor: true, toString: 2, ['__proto__']: 3, hasOwnProperty: true })
    group.increment({ constructor: true })

    const values = await registry.registered()[0].read() as Record<string, number>
    expect(Object.keys(values).sort()).to.deep.equal(['__proto__', 'constructor', 'hasOwnProperty', 'toString'])
    expect(values.constructor).to.equal(2)
    expect(values.toString).to.equal(2)
    expect(values.hasOwnProperty).to.equal(1)
    expect(Object.getOwnPropertyDescriptor(values, '__proto__')?.value).to.equal(3)
  })

  it(`keeps at most ${MAX_GROUP_KEYS} keys of a group, still updating the ones it has`, async () => {
    const registry = new MetricsRegistry()
    const group = registry.registerMetricGroup('x_t_many')

    for (let i = 0; i < MAX_GROUP_KEYS + 10; i++) {
      group.update({ [`k${i}`]: i })
    }

    group.update({ k0: 42 })
    const values = await registry.registered()[0].read() as Record<string, number>
    expect(Object.keys(values)).to.have.lengthOf(MAX_GROUP_KEYS)
    expect(values.k0).to.equal(42)
    expect(values[`k${MAX_GROUP_KEYS}`]).to.equal(undefined)
    expect(registry.droppedValues, 'values dropped').to.equal(10)
  })

  it('serves names and labels as Prometheus allows them, as @libp2p/prometheus-metrics normalises them (libp2p registers libp2p_webrtc-direct_dialer_events_total)', () => {
    const registry = new MetricsRegistry()
    registry.registerCounterGroup('libp2p_webrtc-direct_dialer_events_total')
    registry.registerMetricGroup('x_t.rates', { label: 'per-peer' })
    registry.registerHistogram('x_t-histogram')

    expect(registry.registered().map(m => [m.name, m.label])).to.deep.equal([
      ['libp2p_webrtc_direct_dialer_events_total', 'libp2p_webrtc_direct_dialer_events_total'],
      ['x_t_rates', 'per_peer']
    ])
    expect(registry.names()).to.deep.equal(['libp2p_webrtc_direct_dialer_events_total', 'x_t_rates', 'x_t_histogram'])
  })

  it('names histograms and summaries as registered, though it does not serve them', () => {
    const registry = new MetricsRegistry()
    registry.registerHistogram('x_t_histogram').observe(1)
    registry.registerSummaryGroup('x_t_summary').observe({ a: 1 })
    registry.registerMetric('x_t_gauge')

    expect(registry.names()).to.deep.equal(['x_t_gauge', 'x_t_histogram', 'x_t_summary'])
    expect(registry.registered().map(m => m.name)).to.deep.equal(['x_t_gauge'])
  })
})
