import { expect } from 'aegir/chai'
import { discoveryView, linkGroups, peerName } from '../src/views.ts'
import type { ConnectionSeries } from '../src/monitor.ts'

const ids = ['12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0', '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1', '12D3KooWCccccccccccccccccccccccccccccccccccccccccccc2', '12D3KooWDdddddddddddddddddddddddddddddddddddddddddd3']
const indexOf = (id: string): number => ids.indexOf(id)
const peer = (i: number, ...mechanisms: string[]): { id: string, mechanisms: string[] } => ({ id: ids[i], mechanisms })

function series (node: number, remote: number, connectionId: string, init: Partial<ConnectionSeries> = {}): ConnectionSeries {
  return { key: `${node}/${connectionId}`, node, peer: remote, connectionId, open: true, proxied: false, points: [], ...init }
}

describe('dashboard views', () => {
  describe('discovery by source', () => {
    it('counts each peer once however many mechanisms found it', () => {
      // node 0 found 3 peers: two by bootstrap and pubsub, one by pubsub only
      const view = discoveryView([peer(1, 'pubsub', 'bootstrap'), peer(2, 'bootstrap', 'pubsub', 'pubsub'), peer(3, 'pubsub')], indexOf)

      expect(view.peers).to.equal(3)
      expect(view.bySources).to.deep.equal({ 'bootstrap + pubsub': 2, pubsub: 1 })
      expect(Object.values(view.bySources).reduce((a, b) => a + b, 0)).to.equal(view.peers)
      // per mechanism is still there, and says what it is: peers each mechanism found
      expect(view.byMechanism).to.deep.equal({ bootstrap: 2, pubsub: 3 })
    })

    it('names each peer with the mechanisms that found it; peers outside the swarm by their id', () => {
      const stranger = '12D3KooWStrangerStrangerStrangerStrangerStrangerXyZ9'
      const view = discoveryView([peer(3, 'pubsub'), { id: stranger, mechanisms: [] }, peer(1, 'pubsub', 'bootstrap')], indexOf)

      expect(view.found).to.deep.equal([
        { name: 'n1', peerId: ids[1], mechanisms: ['bootstrap', 'pubsub'] },
        { name: 'n3', peerId: ids[3], mechanisms: ['pubsub'] },
        { name: '…ngerXyZ9', peerId: stranger, mechanisms: [] }
      ])
      expect(view.bySources).to.deep.equal({ 'bootstrap + pubsub': 1, pubsub: 1, unknown: 1 })
      expect(peerName(-1, stranger)).to.equal('…ngerXyZ9')
    })
  })

  describe('RTT and score series by link', () => {
    const names = ['n0', 'n1', 'n2', 'n3']

    it('one group per link, named by its two peers, holding each of its connections once', () => {
      const all = [
        // 3 connections between n3 and n1, each seen from both ends
        series(3, 1, 'a1'), series(3, 1, 'a2'), series(3, 1, 'a3', { open: false }),
        series(1, 3, 'b1'), series(1, 3, 'b2'), series(1, 3, 'b3'),
        series(2, 0, 'c1'), series(0, 2, 'd1')
      ]
      const groups = linkGroups(all, names)

      expect(groups.map(g => g.label)).to.deep.equal(['n2 → n0', 'n3 → n1'])
      expect(groups[1].series).to.deep.equal(['3/a1', '3/a2', '3/a3'])
      expect(groups[1].open).to.equal(2)
      // no connection id in a label
      expect(groups.every(g => !/[a-d]\d/.test(g.label))).to.equal(true)
    })

    it('the fault link is measured from the proxy client, listed first and marked', () => {
      const all = [series(1, 2, 'p1', { proxied: true }), series(1, 2, 'p2', { proxied: true }), series(2, 1, 'q1', { proxied: true }), series(3, 0, 'r1')]
      const groups = linkGroups(all, names, { client: 1, server: 2 })

      expect(groups.map(g => g.label)).to.deep.equal(['n1 → n2 (fault proxy)', 'n3 → n0'])
      expect(groups[0].series).to.deep.equal(['1/p1', '1/p2'])
    })

    it('keeps at most maxLinks links and skips peers outside the swarm', () => {
      const all = [series(3, 0, 'x'), series(3, 1, 'y'), series(3, 2, 'z'), series(2, -1, 'w')]
      expect(linkGroups(all, names, undefined, 2).map(g => g.key)).to.deep.equal(['3-0', '3-1'])
      expect(linkGroups([series(2, -1, 'w')], names)).to.deep.equal([])
    })
  })
})

describe('dashboard timeline', () => {
  it('keeps the fault events when health events overflow it', async () => {
    const { Monitor, MAX_EVENTS } = await import('../src/monitor.ts')
    const monitor = new Monitor([], () => -1, () => false)
    monitor.add({ at: 1, kind: 'fault', detail: 'latency: +150 ms' })
    for (let i = 0; i < MAX_EVENTS * 2; i++) {
      monitor.add({ at: 2 + i, kind: 'degraded', detail: `d${i}` })
    }
    monitor.add({ at: 10_000, kind: 'fault', detail: 'blackhole: on' })

    expect(monitor.events).to.have.lengthOf(MAX_EVENTS)
    expect(monitor.events.filter(e => e.kind === 'fault').map(e => e.detail)).to.deep.equal(['latency: +150 ms', 'blackhole: on'])
    expect(monitor.events.at(-2)?.detail).to.equal(`d${MAX_EVENTS * 2 - 1}`)
  })

  it('still shows new health events once fault events alone would fill it (a demo left running for hours)', async () => {
    const { Monitor, MAX_EVENTS } = await import('../src/monitor.ts')
    const monitor = new Monitor([], () => -1, () => false)
    for (let i = 0; i < MAX_EVENTS * 2; i++) {
      monitor.add({ at: i, kind: 'fault', detail: `f${i}` })
    }
    monitor.add({ at: 100_000, kind: 'degraded', detail: 'still shown' })

    expect(monitor.events.length).to.be.at.most(MAX_EVENTS)
    expect(monitor.events.at(-1)?.detail).to.equal('still shown')
    // the newest fault events are the ones kept
    expect(monitor.events.filter(e => e.kind === 'fault').at(-1)?.detail).to.equal(`f${MAX_EVENTS * 2 - 1}`)
  })
})
