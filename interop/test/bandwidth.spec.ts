/**
 * `@x/bandwidth` against go-libp2p: shaping is local, so a go peer sees an
 * ordinary (slower) yamux stream. A bulk transfer from js to the go peer's
 * echo is shaped by `maxUpload` while pings to the go peer go ahead of it;
 * a stream the go peer opens is shaped too (js echoes through the shaper);
 * and js's `maxDownload` pauses reading so go-yamux's window holds the go
 * sender back - every byte comes back intact.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { bandwidthManager } from '@x/bandwidth'
import { expect } from 'aegir/chai'
import { createJsNode, goMissingReason, randomBytes, requireOrSkip, sendAndReceiveAll, startGoPeer, tcpAddr } from '../src/index.ts'
import type { GoPeer } from '../src/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { BandwidthManager, BandwidthManagerInit } from '@x/bandwidth'

const RATE = 256 * 1024
const classes: BandwidthManagerInit['classes'] = {
  interactive: { protocols: ['/ipfs/ping/'], priority: 1 },
  bulk: { protocols: ['/echo/'] }
}

describe('interop: @x/bandwidth with go-libp2p', function () {
  this.timeout(120_000)
  let go: GoPeer
  let js: Libp2p<{ bandwidth: BandwidthManager, ping: any }>
  let goPeer: PeerId

  before(async function () {
    requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
  })

  async function start (init: BandwidthManagerInit): Promise<void> {
    go = await startGoPeer({ name: 'go-bandwidth' })
    goPeer = peerIdFromString(go.peerId)
    js = await createJsNode({ overrides: { services: { bandwidth: bandwidthManager(init) } as any } }) as any
    await js.start()
    await js.peerStore.merge(goPeer, { multiaddrs: [multiaddr(tcpAddr(go.addrs))] })
    await js.dial(goPeer)
  }

  afterEach(async () => {
    await js?.stop()
    await go?.stop()
  })

  it('shapes a bulk transfer to the go peer; pings to it go ahead and every byte comes back', async () => {
    await start({ maxUpload: RATE, classes })
    const data = randomBytes(1024 * 1024)
    const stream = await js.dialProtocol(goPeer, '/echo/1.0.0')
    const transfer = sendAndReceiveAll(stream, data)
    // what the shaper held back of the bulk transfer when each ping came back
    const atPing: Array<{ queued: number, sent: number }> = []

    for (let i = 0; i < 5; i++) {
      await js.services.ping.ping(goPeer)
      const bulk = js.services.bandwidth.getMetrics().classes.bulk
      atPing.push({ queued: bulk.queue.bytes, sent: bulk.out.total })
    }

    const echoed = await transfer
    expect(echoed).to.deep.equal(data)
    const m = js.services.bandwidth.getMetrics()
    expect(m.classes.bulk.out.total).to.equal(data.byteLength)
    expect(m.classes.bulk.in.total).to.equal(data.byteLength)
    expect(m.classes.interactive.out.total).to.equal(5 * 32)
    expect(m.peers[goPeer.toString()].out.total).to.be.at.least(data.byteLength)
    expect(m.streams.unshaped).to.equal(0)
    // each ping went out and came back while bulk bytes were waiting in the shaper: pings go ahead of the queue
    for (const [i, p] of atPing.entries()) {
      expect(p.queued, `bulk bytes queued when ping ${i + 1} came back`).to.be.above(0)
      expect(p.sent, `bulk bytes sent when ping ${i + 1} came back`).to.be.below(data.byteLength)
    }
  })

  it('shapes the streams the go peer opens: js echoes back through the scheduler', async () => {
    await start({ maxUpload: RATE, classes })
    // the most js's echo ever had waiting in the shaper, sampled while the go peer echoes through it
    let mostQueued = 0
    const sampler = setInterval(() => {
      mostQueued = Math.max(mostQueued, js.services.bandwidth.getMetrics().classes.bulk.queue.bytes)
    }, 20)
    const result = await go.command('echo', { peerId: js.peerId.toString(), sizeBytes: 512 * 1024 }, 60_000)
      .finally(() => { clearInterval(sampler) })
    expect(result.identical).to.equal(true)
    expect(result.bytes).to.equal(512 * 1024)
    // inbound on js, in the bulk class both ways
    const m = js.services.bandwidth.getMetrics()
    expect(m.classes.bulk.in.total).to.equal(512 * 1024)
    expect(m.classes.bulk.out.total).to.equal(512 * 1024)
    // shaped: js's echo of the go peer's stream waited in the scheduler (512 KiB at 256 KiB/s cannot go out at once)
    expect(mostQueued).to.be.above(0)
  })

  it('maxDownload pauses reading and go-yamux\'s window holds the go sender back; no byte is dropped', async () => {
    const rate = 2 * RATE
    const total = 4 * 1024 * 1024
    await start({ maxDownload: rate, classes })
    // what has arrived from the go sender, against what js's budget allows since the start: an
    // upper bound on the go sender's progress, which a slow machine can only make easier to meet
    let started: number | undefined
    let worst = -Infinity
    const sample = (): void => {
      const arrived = js.services.bandwidth.getMetrics().classes.bulk.in.total
      started ??= arrived > 0 ? performance.now() : undefined
      worst = Math.max(worst, arrived - rate * (performance.now() - (started ?? performance.now())) / 1000)
    }
    const sampler = setInterval(sample, 10)
    const result = await go.command('echo', { peerId: js.peerId.toString(), sizeBytes: total }, 90_000)
      .finally(() => { clearInterval(sampler) })
    expect(result.identical).to.equal(true)
    expect(result.bytes).to.equal(total)
    const m = js.services.bandwidth.getMetrics()
    // reading was paused for the budget, and every byte still arrived, nothing dropped
    expect(m.streams.downloadPauses).to.be.above(0)
    expect(m.classes.bulk.in.total).to.equal(total)
    // the go sender was held back: ahead of the budget by what arrives after a pause and the window
    // granted on resume (about two 256 KiB windows), not by nearly the whole transfer
    expect(worst).to.be.below(1.5 * 1024 * 1024)
  })
})
