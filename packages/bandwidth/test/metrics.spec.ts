import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
// @ts-expect-error no types
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import sinon from 'sinon'
import { prometheusText } from '../src/export.ts'
import { bandwidthManager } from '../src/index.ts'
import { registerBandwidthMetrics } from '../src/libp2p-metrics.ts'
import { Monitor } from '../src/monitor.ts'
import { RateWindow } from '../src/rates.ts'
import { SINK_PROTOCOL, createNode } from './fixtures/nodes.ts'
import { write } from './fixtures/streams.ts'
import type { Node } from './fixtures/nodes.ts'
import type { Libp2pEvents, Metrics } from '@libp2p/interface'

describe('monitoring', () => {
  it('rates over the last second and the last minute', () => {
    const window = new RateWindow()
    // 1000 B/s for 90 s
    for (let t = 0; t < 90_000; t += 100) {
      window.add(100, t)
    }

    expect(window.rates(90_000)).to.deep.equal({ rate1s: 1000, rate1m: 1000, total: 90_000 })
    // 5 s idle: 1 s rate 0, minute rate 55/60 of it
    const idle = window.rates(95_000)
    expect(idle.rate1s).to.equal(0)
    expect(idle.rate1m).to.be.closeTo(1000 * 55 / 60, 1e-9)
    // 2 min idle: all gone but the total
    expect(window.rates(215_000)).to.deep.equal({ rate1s: 0, rate1m: 0, total: 90_000 })
  })

  it('bounds peers and protocols: more are counted as other; idle peers expire', () => {
    const monitor = new Monitor(['default'], 2, 2)
    const a = monitor.open('a', '/p/1', 'default', 0)
    monitor.open('b', '/p/2', 'default', 0)
    const c = monitor.open('c', '/p/3', 'default', 0)
    expect(c).to.deep.equal({ peer: 'other', protocol: 'other', cls: 'default' })
    expect(monitor.peers.size).to.equal(3)
    monitor.add(c, 'out', 10, 0)
    expect(monitor.peers.get('other')?.out.total).to.equal(10)
    monitor.close(a)
    monitor.expire(61_000)
    expect(monitor.peers.has('a')).to.be.false()
    expect(monitor.peers.has('b')).to.be.true()
  })

  describe('on a node', () => {
    let a: Node
    let b: Node

    afterEach(async () => {
      await a?.stop()
      await b?.stop()
    })

    it('getMetrics(), Prometheus text and libp2p metrics agree, under metricsPrefix', async () => {
      const registered = new Map<string, { calculate(): unknown }>()
      const counters = new Set<string>()
      const stub = {
        registerMetricGroup: (name: string, options: any) => { registered.set(name, options) },
        registerCounterGroup: (name: string, options: any) => { registered.set(name, options); counters.add(name) },
        registerCounter: (name: string, options: any) => { registered.set(name, options); counters.add(name) },
        registerMetric: (name: string, options: any) => { registered.set(name, options) }
      } as unknown as Metrics
      a = await createNode({ classes: { bulk: { protocols: ['/app/'] } }, metricsPrefix: 'node_a_bw_' })
      b = await createNode({})
      registerBandwidthMetrics(stub, 'node_a_bw_', () => a.services.bandwidth.getMetrics())
      await a.dial(b.getMultiaddrs()[0])
      const stream = await a.dialProtocol(b.peerId, SINK_PROTOCOL)
      await write(stream, 50_000, 10_000)
      await stream.close()
      const m = a.services.bandwidth.getMetrics()
      expect(m.classes.bulk.out.total).to.equal(50_000)
      expect(m.protocols[SINK_PROTOCOL].out.total).to.equal(50_000)
      expect(m.classes.bulk.queue).to.include.keys('streams', 'bytes', 'avgDelay', 'maxDelay', 'lastDelay')

      const text = a.services.bandwidth.exportMetrics('prometheus')
      const families = parsePrometheusTextFormat(text) as Array<{ name: string, type: string, metrics: Array<{ labels?: Record<string, string>, value: string }> }>
      const names = families.map(f => f.name)
      expect(names.every(n => n.startsWith('node_a_bw_'))).to.be.true()
      expect(families.filter(f => f.type === 'COUNTER').every(f => f.name.endsWith('_total'))).to.be.true()
      expect(families.filter(f => f.type !== 'COUNTER').every(f => !f.name.endsWith('_total'))).to.be.true()
      const classBytes = families.find(f => f.name === 'node_a_bw_class_bytes_total')
      expect(classBytes?.metrics.find(s => s.labels?.class === 'bulk' && s.labels?.direction === 'out')?.value).to.equal('50000')
      expect(families.find(f => f.name === 'node_a_bw_queue_delay_seconds')?.metrics.map(s => s.labels?.class)).to.include('bulk')

      // libp2p metrics: the same names and figures
      expect([...registered.keys()].sort()).to.deep.equal(names.sort())
      // counters (and only counters) registered as libp2p counters, as in the text
      expect([...counters].sort()).to.deep.equal(families.filter(f => f.type === 'COUNTER').map(f => f.name).sort())
      expect((registered.get('node_a_bw_class_bytes_total')?.calculate() as Record<string, number>)['bulk:out']).to.equal(50_000)
      expect(JSON.parse(a.services.bandwidth.exportMetrics('json')).classes.bulk.out.total).to.equal(50_000)
    })
  })

  it('registers with the node\'s libp2p metrics component, the default x_bandwidth_ names', () => {
    const registered = new Map<string, { calculate(): unknown }>()
    const stub = {
      registerMetricGroup: (name: string, options: any) => { registered.set(name, options) },
      registerCounterGroup: (name: string, options: any) => { registered.set(name, options) },
      registerCounter: (name: string, options: any) => { registered.set(name, options) },
      registerMetric: (name: string, options: any) => { registered.set(name, options) }
    } as unknown as Metrics
    const bandwidth = bandwidthManager({ classes: { bulk: { protocols: ['/files/'] } } })({
      registrar: { getMiddleware: () => [] } as any,
      events: new TypedEventEmitter<Libp2pEvents>(),
      logger: defaultLogger(),
      metrics: stub
    })
    const families = parsePrometheusTextFormat(bandwidth.exportMetrics('prometheus')) as Array<{ name: string }>
    expect([...registered.keys()].sort()).to.deep.equal(families.map(f => f.name).sort())
    expect(registered.has('x_bandwidth_class_bytes_total')).to.be.true()
    expect(registered.get('x_bandwidth_class_bytes_total')?.calculate()).to.deep.equal({ 'bulk:in': 0, 'bulk:out': 0, 'default:in': 0, 'default:out': 0 })
  })

  it('the text is well formed with no traffic at all', () => {
    const clock = sinon.useFakeTimers()
    const text = prometheusText('x_bandwidth_', {
      node: { in: { rate1s: 0, rate1m: 0, total: 0 }, out: { rate1s: 0, rate1m: 0, total: 0 } },
      peers: {},
      protocols: {},
      classes: {},
      streams: { shaped: 0, unshaped: 0, downloadPauses: 0 },
      congestion: []
    })
    clock.restore()
    expect(() => parsePrometheusTextFormat(text)).to.not.throw()
  })
})
