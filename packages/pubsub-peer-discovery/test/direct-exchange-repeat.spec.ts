/**
 * D2's repeat when a joiner has several exchanges in flight (it dialled
 * several peers at once): which exchange is repeated, against a registrar
 * and connections of streams in memory, so the order in which the answers
 * arrive is the test's
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { DirectExchange } from '../src/direct-exchange.ts'
import { waitUntil } from './fixtures/nodes.ts'
import type { DirectExchangeHost, ExchangeVerdict } from '../src/direct-exchange.ts'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => log }) as unknown as Logger

type OnConnect = (peer: PeerId, connection: Connection) => void

function capturingRegistrar (): { registrar: Registrar, onConnect(): OnConnect } {
  let onConnect: OnConnect | undefined
  const registrar = {
    handle: async () => {},
    unhandle: async () => {},
    register: async (_protocol: string, topology: { onConnect: OnConnect }) => { onConnect = topology.onConnect; return 'topology' },
    unregister: () => {}
  }
  return { registrar: registrar as unknown as Registrar, onConnect: () => onConnect! }
}

/** A peer we dialled; `answer` plays its side of each exchange we open on it */
interface Remote {
  peer: PeerId
  connection: Connection
  /** Exchanges opened with it */
  opened: number
}

function remote (id: string, answer: (stream: Stream) => Promise<void>): Remote {
  const peer = peerIdFromString(id)
  const state: Remote = {
    peer,
    opened: 0,
    connection: {
      direction: 'outbound',
      status: 'open',
      remotePeer: peer,
      newStream: async () => {
        const [ours, theirs] = await streamPair()
        state.opened++
        void answer(theirs).catch(() => {})
        return ours
      }
    } as unknown as Connection
  }
  return state
}

/** Reads the announcement, answers one byte (the host's `received` judges it) */
async function reply (stream: Stream): Promise<void> {
  const lp = lpStream(stream)
  await lp.read()
  await lp.write(Uint8Array.from([1]))
  await stream.close()
}

function deferred (): { promise: Promise<void>, resolve(): void } {
  let settle!: () => void
  const promise = new Promise<void>(resolve => { settle = resolve })
  return { promise, resolve: settle }
}

const A = '12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F7YQdZgNxv8B7q'
const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

describe('direct exchange repeats (D2), several exchanges at once', function () {
  this.timeout(30_000)
  let exchange: DirectExchange | undefined

  afterEach(() => {
    exchange?.stop()
    exchange = undefined
  })

  /** Our pubsub reaches us: only an answer that taught us peers is repeated; A's first one did */
  function joiner (registrar: Registrar, a: Remote, host: Partial<DirectExchangeHost>): DirectExchange {
    return new DirectExchange(registrar, { maxMessageSize: 16_384, interval: 500 }, {
      joining: () => true,
      reached: () => true,
      announcement: async () => Uint8Array.from([1]),
      received: (peer): ExchangeVerdict => peer.equals(a.peer) && a.opened === 1 ? 'taught' : 'accepted',
      drop: () => {},
      exchanged: () => {},
      ...host
    }, log)
  }

  it('an answer that taught us peers is repeated though an exchange in flight with another peer then ends naming nobody new', async () => {
    const { registrar, onConnect } = capturingRegistrar()
    const aAnswered = deferred()
    const a = remote(A, reply)
    // B answers only once A's answer was taken
    const b = remote(B, async stream => {
      await aAnswered.promise
      await reply(stream)
    })
    const verdicts: string[] = []
    const judge = (peer: PeerId): ExchangeVerdict => peer.equals(a.peer) && a.opened === 1 ? 'taught' : 'accepted'

    exchange = joiner(registrar, a, {
      received: (peer) => {
        const verdict = judge(peer)
        verdicts.push(`${peer.equals(a.peer) ? 'a' : 'b'}:${verdict}`)
        aAnswered.resolve()
        return verdict
      }
    })
    await exchange.start()

    onConnect()(a.peer, a.connection)
    onConnect()(b.peer, b.connection)
    await waitUntil(() => verdicts.length === 2)
    expect(verdicts).to.deep.equal(['a:taught', 'b:accepted'])

    // A's answer taught us peers: A is asked again an interval later
    await waitUntil(() => a.opened === 2, 10_000)
    expect(b.opened).to.equal(1)
  })

  it('an answer that taught us peers is repeated though an exchange in flight with another peer then fails (the peer resets it)', async () => {
    const { registrar, onConnect } = capturingRegistrar()
    const aAnswered = deferred()
    const a = remote(A, reply)
    // B reads our announcement and, once A's answer was taken, resets the stream
    const b = remote(B, async stream => {
      await lpStream(stream).read()
      await aAnswered.promise
      stream.abort(new Error('hostile'))
    })
    const dropped: string[] = []
    const judge = (peer: PeerId): ExchangeVerdict => peer.equals(a.peer) && a.opened === 1 ? 'taught' : 'accepted'

    exchange = joiner(registrar, a, {
      received: (peer) => {
        aAnswered.resolve()
        return judge(peer)
      },
      drop: (reason) => { dropped.push(reason) }
    })
    await exchange.start()

    onConnect()(a.peer, a.connection)
    onConnect()(b.peer, b.connection)
    await waitUntil(() => dropped.includes('exchange-failed'), 10_000)
    expect(a.opened).to.equal(1)

    await waitUntil(() => a.opened === 2, 10_000)
    expect(b.opened).to.equal(1)
  })

  it('an exchange that went unanswered is repeated though an exchange in flight with another peer then ends naming nobody new', async () => {
    const { registrar, onConnect } = capturingRegistrar()
    const bFailed = deferred()
    // A answers once B's exchange failed; its answers never teach us peers
    const a = remote(A, async stream => {
      await bFailed.promise
      await reply(stream)
    })
    // B resets its first exchange and answers the next
    const b = remote(B, async stream => {
      if (b.opened === 1) {
        await lpStream(stream).read()
        stream.abort(new Error('busy'))
        return
      }
      await reply(stream)
    })
    const verdicts: string[] = []

    exchange = joiner(registrar, a, {
      received: (peer) => {
        verdicts.push(peer.equals(a.peer) ? 'a' : 'b')
        return 'accepted'
      },
      drop: (reason) => {
        if (reason === 'exchange-failed') { bFailed.resolve() }
      }
    })
    await exchange.start()

    onConnect()(a.peer, a.connection)
    onConnect()(b.peer, b.connection)
    await waitUntil(() => verdicts.includes('a'))

    // B's exchange went unanswered: B is asked again, A (nothing new) is not
    await waitUntil(() => b.opened === 2, 10_000)
    await waitUntil(() => verdicts.includes('b'), 10_000)
    expect(a.opened).to.equal(1)
  })
})
