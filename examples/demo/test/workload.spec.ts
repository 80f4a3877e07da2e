/**
 * The workload's retries, on a fake node: a request whose peer has no direct
 * connection left waits for one to open before it tries again, instead of
 * spending its attempts while the link is down.
 */
import { expect } from 'aegir/chai'
import { Workload } from '../src/workload.ts'
import type { DemoLibp2p } from '../src/node.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

function fakePeer (name: string): PeerId {
  const peer = { toString: () => name, equals: (other: PeerId) => other === peer }
  return peer as unknown as PeerId
}

/** A stream that echoes what was sent once the sender closes its end */
function echoStream (): Stream {
  const target = new EventTarget()
  let sent: Uint8Array | undefined
  return Object.assign(target, {
    send: (data: Uint8Array) => { sent = data; return true },
    close: async () => {
      target.dispatchEvent(Object.assign(new Event('message'), { data: sent }))
      target.dispatchEvent(Object.assign(new Event('close'), { error: undefined }))
    },
    abort: () => {}
  }) as unknown as Stream
}

interface FakeNode {
  node: DemoLibp2p
  connections: Connection[]
  /** Dispatches `connection:open` as libp2p does */
  opened(conn: Connection): void
  /** Listeners for `connection:open` */
  listeners: number
  attempts: number
}

function fakeNode (peer: PeerId): FakeNode {
  const events = new EventTarget()
  const fake: Partial<FakeNode> = { connections: [], attempts: 0, listeners: 0 }
  fake.opened = (conn) => { events.dispatchEvent(new CustomEvent('connection:open', { detail: conn })) }
  fake.node = {
    peerId: peer,
    getConnections: (p?: PeerId) => fake.connections!.filter(c => p == null || c.remotePeer.equals(p)),
    addEventListener: (type: string, listener: any) => {
      events.addEventListener(type, listener)
      if (type === 'connection:open') { fake.listeners!++ }
    },
    removeEventListener: (type: string, listener: any) => {
      events.removeEventListener(type, listener)
      if (type === 'connection:open') { fake.listeners!-- }
    },
    services: {
      pool: {
        newStream: async (remote: PeerId) => {
          fake.attempts!++
          if (!fake.connections!.some(c => c.remotePeer.equals(remote) && c.limits == null)) {
            throw Object.assign(new Error(`No connection to ${remote} could open a stream`), { name: 'NoConnectionAvailableError' })
          }
          return echoStream()
        }
      }
    }
  } as unknown as DemoLibp2p
  return fake as FakeNode
}

function connection (remotePeer: PeerId, limited = false): Connection {
  return { id: `c-${Math.random()}`, remotePeer, status: 'open', limits: limited ? { seconds: 120 } : undefined } as unknown as Connection
}

/** Yields to the event loop until `condition` holds */
async function until (condition: () => boolean): Promise<void> {
  while (!condition()) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('demo workload', () => {
  let workload: Workload | undefined

  afterEach(async () => {
    await workload?.stop()
  })

  it('a request whose link went down waits for a direct connection to open, then succeeds (counted ok and retried)', async () => {
    const peer = fakePeer('peer')
    const self = fakeNode(fakePeer('self'))
    // only a relayed connection is left: the pool gives no stream on it
    self.connections.push(connection(peer, true))
    workload = new Workload([self.node], { interval: 60_000, retryDelay: 1 })
    workload.start()

    const request = workload.request(0, peer)
    // the peer's side re-dials the link once the request waits for it
    await until(() => workload?.waiting(0) === 1)
    const conn = connection(peer)
    self.connections.push(conn)
    self.opened(conn)
    await request

    expect(workload.stats[0]).to.include({ ok: 1, failed: 0, retried: 1 })
    expect(self.attempts).to.equal(2)
  })

  it('with a direct connection open, retries after a short delay and fails after its attempts, with the last error', async () => {
    const peer = fakePeer('peer')
    const self = fakeNode(fakePeer('self'))
    self.connections.push(connection(peer))
    ;(self.node.services.pool as any).newStream = async () => {
      self.attempts++
      throw Object.assign(new Error('the stream was reset'), { name: 'StreamResetError' })
    }
    const failures: string[] = []
    workload = new Workload([self.node], { interval: 60_000, retryDelay: 1, onFailure: (f) => { failures.push(f.error) } })
    workload.start()

    await workload.request(0, peer)

    expect(self.attempts).to.equal(4)
    expect(workload.stats[0]).to.include({ ok: 0, failed: 1, retried: 0 })
    expect(failures).to.deep.equal(['StreamResetError: the stream was reset'])
  })

  it('a request waiting for its peer is not settled: a count of failures taken meanwhile has not seen its verdict', async () => {
    const peer = fakePeer('peer')
    const self = fakeNode(fakePeer('self'))
    workload = new Workload([self.node], { interval: 60_000, retryDelay: 1, reconnectTimeout: 3_600_000 })
    workload.start()

    const request = workload.request(0, peer)
    await until(() => workload?.waiting(0) === 1)
    const mark = workload.started()

    // a loss in the making, yet no failure counted
    expect(workload.totals()).to.include({ ok: 0, failed: 0 })
    expect(workload.settled(mark)).to.equal(false)

    // a request started after the mark does not hold it back
    const later = workload.request(0, peer)
    await until(() => workload?.waiting(0) === 2)
    const conn = connection(peer)
    self.connections.push(conn)
    self.opened(conn)
    await request
    expect(workload.settled(mark)).to.equal(true)
    await later
    expect(workload.settled(workload.started())).to.equal(true)
    expect(workload.stats[0]).to.include({ ok: 2, failed: 0, retried: 2 })
  })

  it('an attempt that fails after stop() does not wait for its peer (stop() would hang up to reconnectTimeout)', async () => {
    const peer = fakePeer('peer')
    const self = fakeNode(fakePeer('self'))
    let fail: (err: Error) => void = () => {}
    ;(self.node.services.pool as any).newStream = async () => new Promise((resolve, reject) => { fail = reject })
    workload = new Workload([self.node], { interval: 60_000, reconnectTimeout: 3_600_000 })
    workload.start()

    let done = false
    void workload.request(0, peer).then(() => { done = true })
    const stopping = workload.stop()
    // the link goes down under the attempt in flight: no direct connection is left
    fail(Object.assign(new Error('the stream was reset'), { name: 'StreamResetError' }))
    await until(() => done || workload?.waiting(0) !== 0)

    expect(workload.waiting(0)).to.equal(0)
    expect(done).to.equal(true)
    expect(workload.stats[0]).to.include({ ok: 0, failed: 0 })
    await stopping
  })

  it('stop() ends a request waiting for its peer at once, and does not count it failed', async () => {
    const peer = fakePeer('peer')
    const self = fakeNode(fakePeer('self'))
    workload = new Workload([self.node], { interval: 60_000, reconnectTimeout: 3_600_000 })
    workload.start()

    const request = workload.request(0, peer)
    await until(() => workload?.waiting(0) === 1)
    await workload.stop()
    await request

    expect(workload.stats[0]).to.include({ ok: 0, failed: 0 })
    expect(workload.waiting(0)).to.equal(0)
    expect(self.listeners).to.equal(0)
  })
})
