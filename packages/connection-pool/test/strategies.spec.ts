import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { healthBased, latencyBased, leastLoaded, roundRobin } from '../src/index.ts'
import { resolveStrategy } from '../src/strategies.ts'
import type { ConnectionCandidate, SelectionContext } from '../src/index.ts'
import type { Connection, PeerId } from '@libp2p/interface'
import type { ConnectionHealthSnapshot } from '@x/interface'

let peer: PeerId

function candidate (id: string, openStreams = 0, extra: { score?: number, rtt?: number, connRtt?: number, state?: ConnectionHealthSnapshot['state'] } = {}): ConnectionCandidate {
  const connection = { id, rtt: extra.connRtt } as unknown as Connection
  const health = extra.score == null && extra.rtt == null
    ? undefined
    : {
      peer,
      connectionId: id,
      score: extra.score ?? 1,
      state: extra.state ?? 'healthy',
      rtt: extra.rtt == null ? undefined : { last: extra.rtt, ewma: extra.rtt, min: extra.rtt, p50: extra.rtt, p95: extra.rtt, samples: 5 },
      successRate: 1,
      stability: 1,
      limited: false,
      adaptiveTimeout: 1000,
      timestamp: 0
    } satisfies ConnectionHealthSnapshot

  return { connection, openStreams, health }
}

function spread (select: (c: ConnectionCandidate[], ctx: SelectionContext) => ConnectionCandidate | undefined, candidates: ConnectionCandidate[], rounds: number): Record<string, number> {
  const counts: Record<string, number> = {}

  for (let counter = 0; counter < rounds; counter++) {
    const chosen = select(candidates, { peer, protocols: ['/x'], counter })
    const id = chosen?.connection.id ?? 'none'
    counts[id] = (counts[id] ?? 0) + 1
  }

  return counts
}

describe('strategies', () => {
  before(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('round-robin rotates evenly', () => {
    expect(spread(roundRobin, [candidate('a'), candidate('b'), candidate('c')], 300)).to.deep.equal({ a: 100, b: 100, c: 100 })
  })

  it('least-loaded picks the fewest open streams and rotates among ties', () => {
    expect(spread(leastLoaded, [candidate('a', 2), candidate('b', 0), candidate('c', 1)], 10)).to.deep.equal({ b: 10 })
    expect(spread(leastLoaded, [candidate('a', 1), candidate('b', 0), candidate('c', 0)], 10)).to.deep.equal({ b: 5, c: 5 })
  })

  it('health-based follows the best score', () => {
    expect(spread(healthBased(), [candidate('a', 0, { score: 0.9 }), candidate('b', 0, { score: 0.5 }), candidate('c', 0, { score: 0.4 })], 30)).to.deep.equal({ a: 30 })
  })

  it('health-based spreads when scores are within the tolerance', () => {
    expect(spread(healthBased(0.05), [candidate('a', 0, { score: 0.9 }), candidate('b', 0, { score: 0.88 }), candidate('c', 0, { score: 0.3 })], 30)).to.deep.equal({ a: 15, b: 15 })
  })

  it('health-based does not let a connection with no measurement win every stream', () => {
    const counts = spread(healthBased(), [candidate('a', 0, { score: 0.9 }), candidate('b', 0, { score: 0.9 }), candidate('new')], 30)
    expect(counts).to.deep.equal({ a: 10, b: 10, new: 10 })
  })

  it('health-based avoids unhealthy connections unless all are', () => {
    expect(spread(healthBased(), [candidate('a', 0, { score: 0.99, state: 'unhealthy' }), candidate('b', 0, { score: 0.5 })], 10)).to.deep.equal({ b: 10 })
    expect(spread(healthBased(), [candidate('a', 0, { score: 0.2, state: 'unhealthy' })], 3)).to.deep.equal({ a: 3 })
  })

  it('health-based with no measurements falls back to least-loaded', () => {
    expect(spread(healthBased(), [candidate('a', 3), candidate('b', 1)], 5)).to.deep.equal({ b: 5 })
  })

  it('latency-based follows the lowest RTT, from health or conn.rtt', () => {
    expect(spread(latencyBased(), [candidate('a', 0, { rtt: 100 }), candidate('b', 0, { rtt: 20 })], 10)).to.deep.equal({ b: 10 })
    expect(spread(latencyBased(), [candidate('a', 0, { connRtt: 100 }), candidate('b', 0, { connRtt: 20 })], 10)).to.deep.equal({ b: 10 })
  })

  it('latency-based spreads over RTTs within the tolerance', () => {
    // 20 and 23 ms are within 5 ms; 200 ms is not
    expect(spread(latencyBased(5, 0.1), [candidate('a', 0, { rtt: 20 }), candidate('b', 0, { rtt: 23 }), candidate('c', 0, { rtt: 200 })], 20)).to.deep.equal({ a: 10, b: 10 })
  })

  it('latency-based treats an unmeasured connection as the median', () => {
    const counts = spread(latencyBased(), [candidate('a', 0, { rtt: 20 }), candidate('b', 0, { rtt: 200 }), candidate('new')], 20)
    // median of 20 and 200 is 110: the new connection neither wins everything nor beats the fast one
    expect(counts).to.deep.equal({ a: 20 })
  })

  it('resolves names and functions, and rejects unknown strategies by name', () => {
    expect(resolveStrategy(undefined)).to.equal(roundRobin)
    const custom = (c: ConnectionCandidate[]): ConnectionCandidate => c[0]
    expect(resolveStrategy(custom)).to.equal(custom)
    expect(() => resolveStrategy('fastest' as any)).to.throw().with.property('name', 'UnknownStrategyError')
  })
})
