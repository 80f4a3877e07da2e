/**
 * The demo node on loopback: every node of the swarm connects from 127.0.0.1,
 * so libp2p's per-host inbound limits must not read the swarm as one host
 * dialling too fast (the pool took each reset as the peer's refusal and kept
 * fewer connections for 10 minutes). The development preset raises them.
 */
import { expect } from 'aegir/chai'
import { createDemoNode, DEFAULT_TIMINGS } from '../src/node.ts'
import type { DemoLibp2p } from '../src/node.ts'

const openGater = { denyDialMultiaddr: () => false }

describe('demo node', function () {
  this.timeout(60_000)
  const nodes: DemoLibp2p[] = []

  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('accepts a swarm start\'s burst of connections from loopback (more than libp2p\'s default 5 per second per host)', async () => {
    const listener = await createDemoNode({ relay: false, port: 0, gater: openGater, timings: DEFAULT_TIMINGS })
    nodes.push(listener)
    await listener.start()
    const dialer = await createDemoNode({ relay: false, port: 0, gater: openGater, timings: DEFAULT_TIMINGS })
    nodes.push(dialer)
    await dialer.start()
    const address = listener.getMultiaddrs()[0]

    // what a 6-node swarm's start sends to one node: 5 peers, up to 3 pooled connections each
    const burst = 15
    const refused: string[] = []

    // one after another, as the pool dials (libp2p merges concurrent dials to a peer)
    for (let i = 0; i < burst; i++) {
      await dialer.dial(address, { force: true, signal: AbortSignal.timeout(20_000) })
        .catch(err => { refused.push(`dial ${i + 1}: ${err.message}`) })
    }

    expect(refused, refused.join('\n')).to.deep.equal([])
    expect(dialer.getConnections(listener.peerId)).to.have.lengthOf(burst)
  })
})
