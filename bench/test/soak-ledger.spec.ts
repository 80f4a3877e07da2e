/**
 * The soak's loss accounting: a failed attempt is explained only by the
 * death of the connection it ran on, or a fault injected on that connection,
 * never by what happened to another connection to the same peer.
 */
import { expect } from 'aegir/chai'
import { judge } from '../soak/lib/checks.ts'
import { DEATH_GRACE, FAULT_GRACE, Ledger } from '../soak/lib/ledger.ts'
import type { Attempt } from '../soak/lib/ledger.ts'
import type { Loss } from '../soak/lib/workload.ts'
import type { Connection, Stream } from '@libp2p/interface'

const GO = 'go-peer-id'
const CLIENT = 'client-peer-id'
const SERVER = 'server-peer-id'

/** A connection as the ledger sees it: an id, a remote peer, a socket, a newStream */
function fakeConnection (id: string, peer: string, ports: { localPort?: number, remotePort?: number } = {}, open?: (protocols: string | string[]) => Promise<Stream>): Connection {
  return {
    id,
    remotePeer: { toString: () => peer },
    maConn: { socket: ports },
    newStream: open ?? (async () => fakeStream())
  } as unknown as Connection
}

function fakeStream (): Stream & { close(): void } {
  const listeners: Array<() => void> = []
  return {
    addEventListener: (type: string, fn: () => void) => { if (type === 'close') { listeners.push(fn) } },
    close: () => { listeners.forEach(fn => { fn() }) }
  } as unknown as Stream & { close(): void }
}

const attempt = (startedAt: number, at: number, connection?: string, tried: string[] = []): Attempt => ({ startedAt, at, error: 'TimeoutError: echo timed out', connection, tried })
const loss = (node: number, peer: string, attempts: Attempt[]): Loss => ({ kind: 'echo', node, peer, startedAt: attempts[0].startedAt, at: attempts[attempts.length - 1].at, error: 'TimeoutError', attempts })

describe('soak ledger', () => {
  let ledger: Ledger

  beforeEach(() => {
    // node 3 reaches node 1 through the proxy
    ledger = new Ledger({ batchPrefix: '/x/batch/', link: { client: 3, server: 1, clientPeer: CLIENT, serverPeer: SERVER } })
  })

  it('the close of another connection to the same peer does not explain a loss', () => {
    ledger.opened(0, fakeConnection('a', GO), 0)
    const b = fakeConnection('b', GO)
    ledger.opened(0, b, 0)
    ledger.closed(0, b, 70_000)

    expect(ledger.explainAttempt(0, GO, attempt(67_400, 70_100, 'n0/a'))).to.equal(undefined)
    expect(judge(loss(0, GO, [attempt(67_400, 70_100, 'n0/a')]), ledger).explainedBy).to.equal(null)
  })

  it('the death of its own connection explains it: in flight, or within DEATH_GRACE after it failed', () => {
    const a = fakeConnection('a', GO)
    ledger.opened(0, a, 0)
    ledger.closed(0, a, 70_000)

    expect(ledger.explainAttempt(0, GO, attempt(67_400, 70_100, 'n0/a'))).to.equal('n0/a closed')
    expect(ledger.explainAttempt(0, GO, attempt(60_000, 70_000 - DEATH_GRACE + 1, 'n0/a')), 'closed a little after the failure').to.equal('n0/a closed')
    expect(ledger.explainAttempt(0, GO, attempt(50_000, 70_000 - DEATH_GRACE - 1, 'n0/a')), 'closed long after').to.equal(undefined)
    expect(ledger.explainAttempt(0, GO, attempt(80_000, 82_000, 'n0/a')), 'started after the close').to.equal(undefined)
  })

  it('a stopped or killed go peer explains attempts on its connections, and dials to it', () => {
    ledger.opened(0, fakeConnection('a', GO), 0)
    ledger.opened(0, fakeConnection('c', 'other'), 0)
    ledger.addFault({ kind: 'sigstop', peer: GO, start: 10_000, end: 30_000, detail: 'go0 stopped' })

    expect(ledger.explainAttempt(0, GO, attempt(8_000, 12_000, 'n0/a'))).to.equal('go0 stopped (n0/a)')
    expect(ledger.explainAttempt(0, GO, attempt(30_000 + FAULT_GRACE - 1, 45_000, 'n0/a')), 'within the grace').to.not.equal(undefined)
    expect(ledger.explainAttempt(0, GO, attempt(30_000 + FAULT_GRACE + 1, 45_000, 'n0/a')), 'after the grace').to.equal(undefined)
    expect(ledger.explainAttempt(0, 'other', attempt(8_000, 12_000, 'n0/c')), 'another peer').to.equal(undefined)
    expect(ledger.explainAttempt(0, GO, attempt(12_000, 14_000)), 'no connection: dialled').to.equal('no connection (dialled) while go0 stopped')
    expect(ledger.explainAttempt(0, 'other', attempt(12_000, 14_000)), 'a dial to another peer').to.equal(undefined)
  })

  it('a fault on one proxied connection explains attempts on it alone, at both ends', () => {
    // proxied connection #1: client port 5001 -> upstream port 6001; #2: 5002 -> 6002
    ledger.opened(3, fakeConnection('p1', SERVER, { localPort: 5001, remotePort: 9000 }), 0)
    ledger.opened(3, fakeConnection('p2', SERVER, { localPort: 5002, remotePort: 9000 }), 0)
    ledger.opened(1, fakeConnection('s1', CLIENT, { localPort: 7000, remotePort: 6001 }), 0)
    ledger.opened(1, fakeConnection('s2', CLIENT, { localPort: 7000, remotePort: 6002 }), 0)
    ledger.addFault({ kind: 'blackhole', proxied: [{ clientPort: 5001, upstreamPort: 6001 }], start: 10_000, end: 20_000, detail: 'blackhole on #1' })

    expect(ledger.explainAttempt(3, SERVER, attempt(11_000, 13_000, 'n3/p1'))).to.equal('blackhole on #1 (n3/p1)')
    expect(ledger.explainAttempt(1, CLIENT, attempt(11_000, 13_000, 'n1/s1'))).to.equal('blackhole on #1 (n1/s1)')
    expect(ledger.explainAttempt(3, SERVER, attempt(11_000, 13_000, 'n3/p2')), 'the healthy sibling').to.equal(undefined)
    expect(ledger.explainAttempt(1, CLIENT, attempt(11_000, 13_000, 'n1/s2')), 'the healthy sibling, server side').to.equal(undefined)
  })

  it('an attempt that got no stream is explained only when every connection the pool tried is', async () => {
    const dead = fakeConnection('dead', GO, {}, async () => { throw new Error('closed') })
    const live = fakeConnection('live', GO, {}, async () => { throw new Error('refused') })
    ledger.opened(0, dead, 0)
    ledger.opened(0, live, 0)
    ledger.closed(0, dead, 1_000)

    // the ledger wrapped newStream: the connections tried inside an attempt are noted in it
    const a: Attempt = { startedAt: 500, at: 0, tried: [] }
    await ledger.attempt(a, async () => { await dead.newStream('/echo/1.0.0').catch(() => {}); await live.newStream('/echo/1.0.0').catch(() => {}) })
    a.at = 1_200
    expect(a.tried).to.deep.equal(['n0/dead', 'n0/live'])
    expect(ledger.explainAttempt(0, GO, a)).to.equal(undefined)
    expect(ledger.explainAttempt(0, GO, { ...a, tried: ['n0/dead'] })).to.equal('n0/dead closed')
  })

  it('an attempt that found no connection left is explained by the death of the last ones just before, not while one was open', () => {
    const a = fakeConnection('a', CLIENT)
    const b = fakeConnection('b', CLIENT)
    ledger.opened(1, a, 0)
    ledger.opened(1, b, 0)
    ledger.closed(1, a, 90_000)
    ledger.closed(1, b, 95_000)

    expect(ledger.explainAttempt(1, CLIENT, attempt(96_000, 96_100))).to.equal('no connection left: n1/b closed')
    expect(ledger.explainAttempt(1, CLIENT, attempt(95_000 + DEATH_GRACE + 1, 106_000)), 'long after').to.equal(undefined)
    // a connection that stayed open: the pool could have used it
    ledger.opened(1, fakeConnection('c', CLIENT), 0)
    expect(ledger.explainAttempt(1, CLIENT, attempt(96_000, 96_100))).to.equal(undefined)
  })

  it('a stream is traced to the connection it was opened on', async () => {
    const conn = fakeConnection('a', GO)
    ledger.opened(2, conn, 0)
    const stream = await conn.newStream('/echo/1.0.0')
    expect(ledger.connectionOf(stream)?.key).to.equal('n2/a')
  })

  it('a batched item is judged by the batching stream that carried it', async () => {
    const a = fakeConnection('a', CLIENT)
    const b = fakeConnection('b', CLIENT)
    ledger.opened(0, a, 0)
    ledger.opened(0, b, 0)
    const first = await a.newStream(['/x/batch/1.1.0', '/x/batch/1.0.0']) as ReturnType<typeof fakeStream>
    first.close()
    const second = await b.newStream('/x/batch/1.0.0')
    expect(second).to.not.equal(undefined)
    const now = Date.now()

    // failed after the second stream opened: it ran on b, which lives on
    const item = ledger.batchAttempt(0, CLIENT, now - 1_000, now + 1_000, 'TimeoutError')
    expect(item.connection).to.equal('n0/b')
    expect(ledger.explainAttempt(0, CLIENT, item)).to.equal(undefined)
    ledger.closed(0, b, now + 2_000)
    expect(ledger.explainAttempt(0, CLIENT, item)).to.equal('n0/b closed')
  })

  it('the close of connections by the soak\'s own shutdown (after seal()) explains nothing', () => {
    const a = fakeConnection('a', GO)
    ledger.opened(0, a, 0)
    ledger.opened(0, fakeConnection('b', GO), 0)
    // a request on a healthy connection failed just before the end; the swarm's stop closes every connection
    ledger.seal(70_000)
    ledger.closed(0, a, 71_000)

    expect(ledger.explainAttempt(0, GO, attempt(67_000, 69_000, 'n0/a'))).to.equal(undefined)
    expect(judge(loss(0, GO, [attempt(67_000, 69_000, 'n0/a')]), ledger).explainedBy).to.equal(null)
    expect(ledger.connections.get('n0/a')?.closedAt).to.equal(undefined)
  })

  it('a loss is explained only when each of its attempts is', () => {
    const a = fakeConnection('a', GO)
    ledger.opened(0, a, 0)
    ledger.opened(0, fakeConnection('b', GO), 0)
    ledger.closed(0, a, 10_000)

    const explained = judge(loss(0, GO, [attempt(9_000, 10_000, 'n0/a')]), ledger)
    expect(explained.explainedBy).to.equal('n0/a closed')
    const partly = judge(loss(0, GO, [attempt(9_000, 10_000, 'n0/a'), attempt(10_500, 12_500, 'n0/b')]), ledger)
    expect(partly.explainedBy).to.equal(null)
    expect(partly.unexplainedAttempt).to.equal(1)
  })
})
