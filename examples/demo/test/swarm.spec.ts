/**
 * The default 6-node swarm for about 30 s, with its dashboard: discovery, pools, the
 * fault cycle, /metrics and the page in headless Chromium.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import parsePrometheus from 'parse-prometheus-text-format'
import { chromium } from 'playwright-core'
import { DEFAULT_NODES } from '../src/options.ts'
import { startDashboard } from '../src/server.ts'
import { Swarm } from '../src/swarm.ts'
import type { Dashboard } from '../src/server.ts'

// the swarm `npm start` runs by default
const NODES = DEFAULT_NODES
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results')
const GRAFANA = join(dirname(fileURLToPath(import.meta.url)), '..', 'grafana', 'x-demo-dashboard.json')

/** Polls `condition`; on timeout the error says what was awaited and, from `state`, what there was instead */
async function waitFor (what: string, condition: () => boolean, timeout: number, state?: () => string): Promise<void> {
  const deadline = Date.now() + timeout

  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${state == null ? '' : `; ${state()}`}`)
    }

    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

/** Per node: peers discovered, and pooled connections to each lower-indexed node; then each pair short of them */
function swarmState (swarm: Swarm): string {
  const nodes = swarm.nodes.map((node, i) => `n${i}: found ${swarm.discovered(i).length}, pooled [${swarm.nodes.slice(0, i).map(other => node.services.pool.getConnections(other.peerId).length).join(' ')}]`).join('; ')
  // each pair short of connections: what its pool and libp2p hold, the refusals its node counted, its last events
  const short = swarm.nodes.flatMap((node, i) => swarm.nodes.slice(0, i).flatMap((other, j) => {
    const pool = node.services.pool

    if (pool.getConnections(other.peerId).length > 1) {
      return []
    }

    const events = swarm.monitor.events.filter(e => e.node === i && e.peer === j).slice(-6).map(e => `${e.kind} ${e.detail}`).join(' | ')
    const libp2p = swarm.connectionsBetween(i, j).map(c => `${c.direction}${c.limits == null ? '' : ' relayed'}`).join(', ')
    return [`n${i} -> n${j}: status ${pool.getStatus(other.peerId)}, libp2p [${libp2p}], n${i}'s dial refusals ${pool.getMetrics().dialRefusals}, events [${events}]`]
  }))
  return `${nodes}${short.length > 0 ? `; short: ${short.join('; ')}` : ''}`
}

/** The fault link seen from its client: pooled connections, pool status, the proxy's connections, the fault phase */
function linkState (swarm: Swarm): string {
  const link = swarm.link

  if (link == null) {
    return 'no fault link'
  }

  const server = swarm.nodes[link.server].peerId
  const pool = swarm.nodes[link.client].services.pool
  return `link n${link.client} -> n${link.server}: ${pool.getConnections(server).length} pooled, status ${pool.getStatus(server)}, ${link.proxy.connections.length} through the proxy, phase ${swarm.faultCycle?.phase}, cycles ${swarm.faultCycle?.cycles} (${swarm.faultCycle?.faultedCycles} with both faults)`
}

describe('demo swarm', function () {
  this.timeout(120_000)
  let swarm: Swarm
  let dashboard: Dashboard

  before(async () => {
    swarm = await Swarm.start({ nodes: NODES, faults: true, faultStartDelay: 10_000, faultPhaseMs: 6_000 })
    dashboard = await startDashboard(swarm, 0)
  })

  after(async () => {
    await dashboard?.close()
    await swarm?.stop()
  })

  it('every node discovers every other within 30 s, and pools hold more than one connection per peer', async () => {
    const allDiscovered = (): boolean => swarm.nodes.every((_, i) => {
      const found = new Set(swarm.discovered(i).map(p => p.toString()))
      return swarm.nodes.every((other, j) => j === i || found.has(other.peerId.toString()))
    })
    const pooled = (): boolean => swarm.nodes.every((node, i) => swarm.nodes.every((other, j) => j >= i || node.services.pool.getConnections(other.peerId).length > 1))

    await waitFor('discovery and pooled connections', () => allDiscovered() && pooled(), 30_000, () => swarmState(swarm))

    // and one pair also holds a connection through the relay on node 0
    const relayed = swarm.relayed
    expect(relayed).to.exist()
    await waitFor('a relayed connection', () => relayed != null && swarm.connectionsBetween(relayed.dialer, relayed.target).some(c => c.limits != null), 45_000,
      () => `n${relayed?.dialer} -> n${relayed?.target}: ${swarm.connectionsBetween(relayed?.dialer ?? 0, relayed?.target ?? 0).map(c => c.limits == null ? 'direct' : 'relayed').join(', ')}; relay address of n${relayed?.target}: ${swarm.nodes[relayed?.target ?? 0].getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))}`)

    // pubsub did the discovering: node 0 found everyone through it, the others found node 0 by bootstrap
    const mechanisms = swarm.nodes[0].services.connectivity.getDiscoveredPeers().map(p => p.mechanisms)
    expect(mechanisms.every(m => m.includes('pubsub'))).to.equal(true)
    expect(swarm.nodes[1].services.connectivity.getDiscoveredPeers().some(p => p.mechanisms.includes('bootstrap'))).to.equal(true)
  })

  it('the fault cycle is detected and routed around, with no failed requests', async () => {
    const link = swarm.link
    expect(link).to.exist()

    if (link == null) {
      return
    }

    const client = swarm.nodes[link.client]
    const okBefore = swarm.workload.stats[link.client].ok
    // latency (10 s), black hole (16 s), recovery (22 s), healthy (28 s), latency (34 s)...:
    // a whole black hole after `okBefore`, however long discovery took on a slow machine
    // (the cycle already over, or its black hole begun, when this test starts)
    // (a phase that found the link without a second connection skips its fault: such a cycle does not count)
    const cycle = swarm.faultCycle
    const cycles = (cycle?.faultedCycles ?? 0) + (cycle?.phase === 'blackhole' && cycle.target != null ? 2 : 1)
    await waitFor('a whole fault cycle', () => (swarm.faultCycle?.faultedCycles ?? 0) >= cycles, 40_000, () => linkState(swarm))
    // the link is whole again: the client holds 3 connections to the server (a loaded machine dials slowly)
    await waitFor('the link to refill', () => client.services.pool.getConnections(swarm.nodes[link.server].peerId).length >= 3, 30_000, () => linkState(swarm))

    // a request that failed an attempt in the faults may still wait for its peer (up to reconnectTimeout):
    // only once every request started by now has its verdict can the failures below count the losses
    const started = swarm.workload.started()
    await waitFor('every request started through the fault cycle to succeed or fail', () => swarm.workload.settled(started), 40_000, () => linkState(swarm))
    const onLink = (e: { node?: number, peer?: number }): boolean => e.node === link.client && e.peer === link.server
    const degraded = swarm.monitor.count('degraded', onLink) + swarm.monitor.count('unhealthy', onLink)
    const replaced = swarm.monitor.count('replaced', onLink)
    const faults = swarm.monitor.events.filter(e => e.kind === 'fault').map(e => e.detail)

    expect(faults.some(f => f.startsWith('latency: +150 ms')), faults.join('\n')).to.equal(true)
    expect(faults.some(f => f.startsWith('blackhole: black hole on')), faults.join('\n')).to.equal(true)
    expect(degraded, 'degraded events on the faulty link').to.be.greaterThan(0)
    expect(replaced + client.services.health.getNetworkHealthSummary().replacements, 'replaced connections').to.be.greaterThan(0)
    // requests on the faulty link went on succeeding through the faults
    expect(swarm.workload.stats[link.client].ok - okBefore).to.be.greaterThan(20)

    const totals = swarm.workload.totals()
    expect(totals.ok).to.be.greaterThan(50)
    expect(totals.failed, JSON.stringify(swarm.workload.stats.map(s => s.failures))).to.equal(0)
  })

  it('carries batched messages and requests between the nodes, and bulk bytes in their own class on the fault link', async () => {
    const link = swarm.link
    expect(link).to.exist()

    if (link == null) {
      return
    }

    await waitFor('bulk bytes on the fault link', () => swarm.traffic.stats[link.client].bulkBytesSent > 0, 20_000, () => linkState(swarm))
    const totals = swarm.traffic.totals()
    expect(totals.messages).to.be.greaterThan(100)
    expect(totals.requests).to.be.greaterThan(10)
    // bursts of messages to a peer leave in batches of more than one
    const batches = swarm.nodes.map(n => n.services.batching.getMetrics())
    expect(batches.some(b => b.batchesSent > 0 && b.messagesSent / b.batchesSent > 1), JSON.stringify(batches.map(b => [b.messagesSent, b.batchesSent]))).to.equal(true)
    // the bandwidth manager put the bulk stream in `bulk`, echo and batches in `interactive`
    const classes = swarm.nodes[link.client].services.bandwidth.getMetrics().classes
    expect(classes.bulk.out.total).to.be.greaterThan(0)
    expect(classes.interactive.out.total).to.be.greaterThan(0)
    expect(swarm.nodes[link.server].services.bandwidth.getMetrics().classes.bulk.in.total).to.be.greaterThan(0)
  })

  it('serves /metrics in the Prometheus text format, with pool, health, discovery and connectivity metrics per node', async () => {
    const res = await fetch(`${dashboard.url}metrics`)
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    const families: any[] = parsePrometheus(text)
    const names = families.map(f => f.name)

    for (const name of ['x_connection_pool_connections', 'x_connection_pool_streams_total', 'x_health_connection_score', 'x_health_connection_rtt_seconds', 'x_health_probes_total', 'x_pubsub_discovery_messages_total', 'x_pubsub_discovery_peers', 'x_connectivity_discovered_peers', 'x_connectivity_nat_status', 'x_batching_messages_total', 'x_batching_requests_total', 'x_batching_status', 'x_bandwidth_class_bytes_total', 'x_bandwidth_queue_delay_seconds']) {
      expect(names, name).to.include(name)
    }

    // one HELP and one TYPE per family
    expect(new Set(names).size).to.equal(names.length)
    expect(text.match(/^# TYPE /gm)?.length).to.equal(names.length)

    // every sample names its node, and every node is there
    for (const family of families) {
      for (const metric of family.metrics) {
        expect(metric.labels?.node, `${family.name} ${JSON.stringify(metric)}`).to.match(/^\d+$/)
      }
    }

    const pooled = families.find(f => f.name === 'x_connection_pool_connections')
    expect(pooled.metrics.map((m: any) => m.labels.node).sort()).to.deep.equal(swarm.nodes.map((_, i) => String(i)))
    expect(pooled.metrics.every((m: any) => Number(m.value) >= 3)).to.equal(true)
  })

  it('the Grafana dashboard queries only metrics that /metrics serves', async () => {
    const served = new Set((await (await fetch(`${dashboard.url}metrics`)).text()).split('\n').filter(l => l.startsWith('# TYPE ')).map(l => l.split(' ')[2]))
    const grafana = JSON.parse(await readFile(GRAFANA, 'utf8'))
    const exprs: string[] = grafana.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr))
    const used = new Set(exprs.flatMap(e => e.match(/\b(x|libp2p)_[a-z_]+/g) ?? []))

    expect(used.size).to.be.greaterThan(10)

    for (const name of used) {
      expect(served, name).to.include(name)
    }
  })

  it('serves a dashboard whose charts render with data in headless Chromium', async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI != null) {
        throw new Error(`Chromium is required in CI and missing at ${CHROMIUM} (apt-get install -y chromium)`)
      }

      // eslint-disable-next-line no-console
      console.warn(`SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)
      this.skip()
    }

    const userDataDir = await mkdtemp(join(tmpdir(), 'x-demo-chromium-'))
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1500 }
    })

    try {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', err => errors.push(err.message))
      await page.goto(dashboard.url)
      await page.waitForFunction(() => (window as any).__updates >= 2, undefined, { timeout: 20_000 })

      const data = await page.evaluate(() => {
        const charts = (window as any).__charts
        const points = (chart: any): number => chart.data.datasets.reduce((n: number, d: any) => n + d.data.filter((p: any) => p != null && (typeof p === 'number' ? p > 0 : p.y != null)).length, 0)
        return {
          rttSeries: charts.rtt.data.datasets.length,
          rttPoints: points(charts.rtt),
          scorePoints: points(charts.score),
          streams: charts.streams.data.datasets.flatMap((d: any) => d.data).reduce((a: number, b: number) => a + b, 0),
          discovery: charts.discovery.data.datasets.flatMap((d: any) => d.data).reduce((a: number, b: number) => a + b, 0),
          bandwidthClasses: charts.bandwidth.data.datasets.map((d: any) => d.label),
          bandwidthBytes: charts.bandwidth.data.datasets.flatMap((d: any) => d.data).reduce((a: number, b: number) => a + b, 0),
          batchingRows: document.querySelectorAll('#batching tr').length,
          // bar height per node, and the peers the page says each node found
          discoveryBars: charts.discovery.data.labels.map((_: string, i: number) => charts.discovery.data.datasets.reduce((n: number, d: any) => n + d.data[i], 0)),
          discoveryNamed: charts.discovery.data.labels.map((_: string, i: number) => charts.discovery.data.datasets.flatMap((d: any) => d.peers[i]).sort()),
          rttLegend: charts.rtt.legend.legendItems.map((item: any) => item.text),
          scoreLegend: charts.score.legend.legendItems.map((item: any) => item.text),
          rttLinks: new Set(charts.rtt.data.datasets.map((d: any) => d.link)).size,
          events: points(charts.timeline),
          faultEvents: charts.timeline.data.datasets.find((d: any) => d.label === 'fault').data.length,
          edges: (window as any).__graphEdges,
          relayedPairs: new Set((window as any).__lastState.nodes.flatMap((n: any) => n.connections.filter((c: any) => c.relayed && c.direction === 'outbound' && c.peer >= 0).map((c: any) => [n.index, c.peer].sort().join('-')))).size,
          relayedEdges: (window as any).__relayedEdges,
          canvases: [...document.querySelectorAll('canvas')].filter(c => c.width > 0 && c.height > 0).length
        }
      })

      expect(errors).to.deep.equal([])
      expect(data.rttSeries).to.be.greaterThan(3)
      expect(data.rttPoints).to.be.greaterThan(20)
      expect(data.scorePoints).to.be.greaterThan(20)
      expect(data.streams).to.be.greaterThan(10)
      // each node found the NODES - 1 others: a bar counts peers, not mechanisms
      expect(data.discovery).to.equal(NODES * (NODES - 1))
      expect(data.discoveryBars).to.deep.equal(swarm.nodes.map(() => NODES - 1))
      expect(data.discoveryNamed).to.deep.equal(swarm.nodes.map((_, i) => swarm.nodes.map((_, j) => `n${j}`).filter(n => n !== `n${i}`).sort()))
      // one legend entry per link, named by its two nodes, no connection ids
      expect(data.rttLegend).to.have.lengthOf(data.rttLinks)
      expect(data.rttLinks).to.be.at.least(NODES * (NODES - 1) / 2)
      expect(data.scoreLegend).to.deep.equal(data.rttLegend)
      for (const text of data.rttLegend) {
        expect(text).to.match(/^n\d+ → n\d+( \(fault proxy\))? · \d+ open$/)
      }
      expect(data.rttLegend.filter((t: string) => t.includes('fault proxy'))).to.have.lengthOf(1)
      expect(data.faultEvents).to.be.at.least(3)
      expect(data.events).to.be.greaterThan(3)
      // every pair directly, plus the relayed link (and any other pair connectivity
      // reached through the relay when a direct dial was slow on a loaded machine)
      expect(data.edges - data.relayedEdges).to.equal(NODES * (NODES - 1) / 2)
      // a relayed connection lives until the relay's data or time limit: the graph draws those the page was sent
      expect(data.relayedEdges).to.equal(data.relayedPairs)
      // bandwidth per class and the batching table
      expect(data.bandwidthClasses).to.include.members(['bulk', 'interactive'])
      expect(data.bandwidthBytes).to.be.greaterThan(0)
      expect(data.batchingRows).to.equal(NODES + 1)
      expect(data.canvases).to.equal(7)

      await mkdir(RESULTS, { recursive: true })
      await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true })
    } finally {
      await context.close()
      await rm(userDataDir, { recursive: true, force: true })
    }
  })
})
