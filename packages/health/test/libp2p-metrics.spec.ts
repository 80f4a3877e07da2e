/**
 * The figures registered with libp2p's metrics component are the ones
 * `exportHealthMetrics('prometheus')` prints: same names, same values, one
 * series per open connection.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
// @ts-expect-error the parser ships no types
import parsePrometheus from 'parse-prometheus-text-format'
import { stubInterface } from 'sinon-ts'
import { prometheusText } from '../src/export.ts'
import { registerHealthMetrics } from '../src/libp2p-metrics.ts'
import { ConnectionRecord } from '../src/record.ts'
import type { NetworkHealthSummary } from '../src/index.ts'
import type { Connection, Metrics, PeerId } from '@libp2p/interface'

type Calculated = Map<string, { label?: string, calculate(): Record<string, number> }>

function record (id: string, peer: PeerId, now: number): ConnectionRecord {
  return new ConnectionRecord({ id, remotePeer: peer, status: 'open', streams: [] } as unknown as Connection, now)
}

function summaryOf (records: ConnectionRecord[]): NetworkHealthSummary {
  return {
    peers: new Set(records.map(r => r.peer.toString())).size,
    connections: records.length,
    averageScore: records.reduce((sum, r) => sum + r.score, 0) / Math.max(1, records.length),
    unhealthy: records.filter(r => r.state === 'unhealthy').length,
    worst: [],
    probes: 7,
    probeFailures: 2,
    probesStalled: 4,
    probesSkipped: 3,
    replacements: 1,
    futileReplacements: 1,
    pingUnsupported: 0
  } as unknown as NetworkHealthSummary
}

describe('libp2p metrics', () => {
  it('registers every per-connection figure of the Prometheus export, with the same values', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const now = 1_000_000
    const records = new Map<string, ConnectionRecord>()
    const a = record('a', peer, now)
    const b = record('b', peer, now)
    a.probeSucceeded(12)
    a.bytes.add('in', 1_000, now)
    a.bytes.add('out', 250, now)
    a.score = 0.9
    b.probeFailed('TimeoutError', now)
    b.streamOutcome(false, 'StreamResetError', now)
    b.score = 0.3
    records.set('a', a)
    records.set('b', b)

    const groups: Calculated = new Map()
    const metrics = stubInterface<Metrics>()
    metrics.registerMetricGroup.callsFake((name: string, options: any) => { groups.set(name, options); return undefined as any })
    metrics.registerCounterGroup.callsFake((name: string, options: any) => { groups.set(name, options); return undefined as any })
    registerHealthMetrics(metrics, { records, getNetworkHealthSummary: () => summaryOf([...records.values()]) })

    const exported = parsePrometheus(prometheusText([...records.values()], summaryOf([...records.values()]), now))
    const perConnection = exported.filter((f: any) => f.metrics.some((m: any) => m.labels?.connection != null) && f.name !== 'x_health_connection_age_seconds')
    expect(perConnection).to.have.length.above(4)

    for (const family of perConnection) {
      const group = groups.get(family.name)
      expect(group, family.name).to.exist()
      expect(group?.label).to.equal('connection')
      const registered = group!.calculate()

      for (const metric of family.metrics) {
        expect(registered[`${peer}/${metric.labels.connection}`], `${family.name} ${metric.labels.connection}`).to.equal(Number(metric.value))
      }
    }

    // counters are counter groups
    expect(metrics.registerCounterGroup.calledWith('x_health_connection_sent_bytes_total')).to.equal(true)
    expect(metrics.registerCounterGroup.calledWith('x_health_events_total')).to.equal(true)
    expect(groups.get('x_health_events_total')?.calculate()).to.deep.equal({ probes: 7, probe_failures: 2, probes_skipped: 3, probes_stalled: 4, replacements: 1, futile_replacements: 1 })

    // a closed connection's series disappear at the next scrape
    records.delete('b')
    expect(Object.keys(groups.get('x_health_connection_score')!.calculate())).to.deep.equal([`${peer}/a`])
  })
})
