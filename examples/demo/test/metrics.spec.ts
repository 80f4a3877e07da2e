/**
 * `/metrics` serves every metric a demo node's services register with
 * libp2p's `metrics` component (the pool's, health's, batching's,
 * bandwidth's ... and libp2p's own), judged by the names the node
 * registered, not by a list kept by hand.
 */
import { expect } from 'aegir/chai'
import parsePrometheus from 'parse-prometheus-text-format'
import { renderMetrics } from '../src/metrics.ts'
import { createDemoNode, DEFAULT_TIMINGS, registries } from '../src/node.ts'
import type { DemoLibp2p } from '../src/node.ts'
import type { Swarm } from '../src/swarm.ts'

/** What `renderMetrics` reads of a swarm, for one node and no workload yet */
function swarmOf (node: DemoLibp2p): Swarm {
  return { nodes: [node], indexOf: () => -1, workload: { stats: [{ ok: 0, failed: 0, retried: 0, failures: [], retries: [] }] } } as unknown as Swarm
}

describe('/metrics of a demo node', function () {
  this.timeout(60_000)
  let node: DemoLibp2p

  before(async () => {
    node = await createDemoNode({ relay: false, port: 0, gater: {}, timings: DEFAULT_TIMINGS })
  })

  after(async () => {
    await node?.stop()
  })

  it('serves every metric the node registered with libp2p metrics, and every value of its groups, the pool\'s invalid_health_events_total among them', async () => {
    const registered = registries.get(node)?.names() ?? []

    // the services did register through the node's metrics component
    for (const prefix of ['x_connection_pool_', 'x_health_', 'x_batching_', 'x_bandwidth_', 'x_connectivity_', 'x_pubsub_discovery_']) {
      expect(registered.filter(name => name.startsWith(prefix)), prefix).to.not.be.empty()
    }

    expect(registered).to.include('x_connection_pool_invalid_health_events_total')

    // the values of each registered metric, read before /metrics reads them (keys a group is given are never taken back)
    const values = new Map<string, number | Record<string, number>>()

    for (const metric of registries.get(node)?.registered() ?? []) {
      values.set(metric.name, await metric.read())
    }

    const text = await renderMetrics(swarmOf(node))
    const served = new Set(text.split('\n').filter(line => line.startsWith('# TYPE ')).map(line => line.split(' ')[2]))

    expect(registered.filter(name => !served.has(name)), 'registered, not served').to.deep.equal([])

    // still one valid exposition: one TYPE line per family, every sample naming its node
    const families = parsePrometheus(text)
    expect(families.map(f => f.name)).to.have.lengthOf(served.size)

    // every value of a registered group is served, whether /metrics renders the family itself or as registered
    const short: string[] = []

    for (const [name, value] of values) {
      const expected = typeof value === 'number' ? 1 : Object.keys(value).length
      const samples = families.find(f => f.name === name)?.metrics.length ?? 0

      if (samples < expected) {
        short.push(`${name}: ${samples} samples for ${JSON.stringify(value)}`)
      }
    }

    expect(short, 'registered values not served').to.deep.equal([])

    // values a group dropped past its key bound are counted and served
    expect(families.find(f => f.name === 'x_demo_metric_values_dropped_total')?.metrics.map(m => m.value)).to.deep.equal(['0'])

    for (const family of families) {
      for (const metric of family.metrics) {
        expect(metric.labels?.node, family.name).to.equal('0')
      }
    }
  })
})
