/**
 * The initiator's optimistic protocol selection, with a stubbed relayed
 * connection whose muxer hands out one end of a stream pair: the peer's end
 * is driven by hand, as go-libp2p's multistream-select and DCUtR handler
 * would answer. No assertion depends on how fast the machine is.
 */
import { Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { PROTOCOL } from '../src/constants.ts'
import { MULTISTREAM_PROTOCOL } from '../src/optimistic-stream.ts'
import { HolePunch } from '../src/pb/message.ts'
import { HolePunchingService } from '../src/service.ts'
import type { HolePunchOutcome } from '../src/index.ts'
import type { Libp2pEvents, PeerId, Stream, StreamMiddleware } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

const peer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const line = (text: string): Uint8Array => new TextEncoder().encode(`${text}\n`)
const text = (bytes: { subarray(): Uint8Array }): string => new TextDecoder().decode(bytes.subarray())

/** Nothing here waits for a timer: a condition unmet after 10,000 turns of the event loop never will be */
async function until (fn: () => boolean, what: string, maxTurns = 10_000): Promise<void> {
  for (let turns = 0; !fn(); turns++) {
    if (turns === maxTurns) {
      throw new Error(`never happened: ${what}`)
    }
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('hole punching service: optimistic protocol selection (initiator)', () => {
  let events: TypedEventEmitter<Libp2pEvents>
  let service: HolePunchingService | undefined
  let remote: PeerId
  let middleware: StreamMiddleware[]
  const outcomes: HolePunchOutcome[] = []
  /** The peer's ends of the streams the service opened, in order, and what it read on each */
  const theirs: Array<{ lp: LengthPrefixedStream, stream: Stream, read: string[] }> = []

  beforeEach(async () => {
    events = new TypedEventEmitter<Libp2pEvents>()
    remote = await peer()
    middleware = []
    outcomes.length = 0
    theirs.length = 0
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {}, getMiddleware: () => middleware } as any,
      upgrader: { upgradeOutbound: async () => ({}) } as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 60_000, dialTimeout: 60_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false, onOutcome: o => outcomes.push(o) }, {
      pickLocalPort: async () => 40_001,
      connectFrom: async (addrs) => ({ socket: new Socket(), addr: addrs[0] })
    })
    await service.start()
    // one observer of our NAT's address
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/16.0.0.1/tcp/40000'), connection: { id: 'observer', remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } } as any })
  })

  afterEach(async () => {
    await service?.stop()
    service = undefined
  })

  /** A relayed connection the peer dialled; `newStream` negotiates fully first, as libp2p 3.3's does */
  const relayed = (): any => {
    const createStream = async (): Promise<Stream> => {
      const [ours, peerEnd] = await streamPair()
      const entry = { lp: lpStream(peerEnd), stream: peerEnd, read: [] as string[] }
      theirs.push(entry)
      // the peer's end reads every length-prefixed message and answers nothing by itself
      void (async () => {
        for (;;) {
          const msg = await entry.lp.read()
          entry.read.push(entry.read.length < 2 ? text(msg) : `CONNECT? ${HolePunch.decode(msg).type}`)
        }
      })().catch(() => {})
      return ours
    }

    return {
      remotePeer: remote,
      remoteAddr: multiaddr(`/ip4/11.0.0.10/tcp/4001/p2p/${remote.toString()}/p2p-circuit/p2p/${remote.toString()}`),
      direction: 'inbound',
      status: 'open',
      streams: [],
      muxer: { createStream },
      newStream: async (protocol: string) => {
        const stream = await createStream()
        const lp = lpStream(stream)
        await lp.writeV([line(MULTISTREAM_PROTOCOL), line(protocol)])
        await lp.read()
        await lp.read()
        return lp.unwrap()
      }
    }
  }

  const answer = async (lp: LengthPrefixedStream, protocol: string): Promise<void> => {
    await lp.writeV([line(MULTISTREAM_PROTOCOL), line(protocol)])
  }

  it('sends the multistream-select proposal and the CONNECT in one go, before the peer answered the proposal (libp2p 3.3\'s newStream waits for the answer: one relay round trip)', async () => {
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => theirs[0]?.read.length === 3, 'the peer read the header, the protocol and a CONNECT without answering anything')
    expect(theirs[0].read).to.deep.equal([`${MULTISTREAM_PROTOCOL}\n`, `${PROTOCOL}\n`, `CONNECT? ${HolePunch.Type.CONNECT}`])

    // the peer accepts, answers CONNECT: the initiator sends SYNC and punches
    await answer(theirs[0].lp, PROTOCOL)
    await theirs[0].lp.write(HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] }))
    await until(() => outcomes.length === 1, 'an outcome')
    expect(theirs[0].read[3]).to.equal(`CONNECT? ${HolePunch.Type.SYNC}`)
    expect(outcomes[0]).to.include({ success: true, role: 'initiator', attempt: 1 })
    expect(theirs).to.have.lengthOf(1)
  })

  it('sends SYNC only once the peer\'s identify of us over the relayed connection is over (go-libp2p expires the addresses a SYNC has it dial when its identify completes)', async () => {
    const connection = relayed()
    // the peer's identify request, answered by us, not yet closed by the peer
    const [a, b] = await streamPair()
    const identifyStream = a.direction === 'inbound' ? a : b
    identifyStream.protocol = '/ipfs/id/1.0.0'
    connection.streams.push(identifyStream)
    events.safeDispatchEvent('connection:open', { detail: connection })
    await until(() => theirs[0]?.read.length === 3, 'the proposal and CONNECT')
    await answer(theirs[0].lp, PROTOCOL)
    await theirs[0].lp.write(HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] }))
    // 500 turns later (far less than IDENTIFY_WAIT, the bound of that wait): still no SYNC
    await expect(until(() => theirs[0].read.length > 3, 'a SYNC', 500)).to.eventually.be.rejectedWith(/never happened/)

    await Promise.all([a.close(), b.close()])
    await until(() => theirs[0].read.length === 4, 'the SYNC')
    expect(theirs[0].read[3]).to.equal(`CONNECT? ${HolePunch.Type.SYNC}`)
    await until(() => outcomes.length === 1, 'an outcome')
    expect(outcomes[0]).to.include({ success: true, attempt: 1 })
  })

  it('sends SYNC only once the peer processed an identify push of ours over the relayed connection (go-libp2p\'s push handler expires those addresses too)', async () => {
    const connection = relayed()
    // our identify push, written, not yet closed by the peer (go closes it once it processed it)
    const [a, b] = await streamPair()
    const pushStream = a.direction === 'outbound' ? a : b
    pushStream.protocol = '/ipfs/id/push/1.0.0'
    connection.streams.push(pushStream)
    events.safeDispatchEvent('connection:open', { detail: connection })
    await until(() => theirs[0]?.read.length === 3, 'the proposal and CONNECT')
    await answer(theirs[0].lp, PROTOCOL)
    await theirs[0].lp.write(HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] }))
    // 500 turns later (far less than IDENTIFY_WAIT, the bound of that wait): still no SYNC
    await expect(until(() => theirs[0].read.length > 3, 'a SYNC', 500)).to.eventually.be.rejectedWith(/never happened/)

    await Promise.all([a.close(), b.close()])
    await until(() => theirs[0].read.length === 4, 'the SYNC')
    expect(theirs[0].read[3]).to.equal(`CONNECT? ${HolePunch.Type.SYNC}`)
    await until(() => outcomes.length === 1, 'an outcome')
    expect(outcomes[0]).to.include({ success: true, attempt: 1 })
  })

  it('a peer that answers the proposal with na refused DCUtR: no attempt counted, tried again once it announces the protocol', async () => {
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => theirs[0]?.read.length === 3, 'the first proposal and CONNECT')
    await answer(theirs[0].lp, 'na')
    await until(() => theirs[0].stream.status !== 'open', 'the refused stream is closed')
    expect(outcomes).to.deep.equal([])
    expect(theirs).to.have.lengthOf(1)

    // an identify push that lists DCUtR: a new stream, the proposal again, and this time an answer
    events.safeDispatchEvent('peer:update', { detail: { peer: { id: remote, protocols: [PROTOCOL] } } as any })
    await until(() => theirs[1]?.read.length === 3, 'the second proposal and CONNECT')
    await answer(theirs[1].lp, PROTOCOL)
    await theirs[1].lp.write(HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] }))
    await until(() => outcomes.length === 1, 'an outcome')
    expect(outcomes[0]).to.include({ success: true, attempt: 1 })
  })

  it('a peer that answers something else than the header fails the exchange with UnexpectedMessageError and ends the hole punch (as a broken exchange does)', async () => {
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => theirs[0]?.read.length === 3, 'the proposal and CONNECT')
    await theirs[0].lp.write(line('/something/else'))
    await until(() => outcomes.length === 1, 'an outcome')
    expect(outcomes[0]).to.include({ success: false, error: 'UnexpectedMessageError' })
    await until(() => !(service as any).initiating.has(remote.toString()), 'the hole punch ended')
    expect(theirs).to.have.lengthOf(1)
  })

  it('runs the protocol\'s registered middleware on the stream and writes on the stream it passes on, as newStream does', async () => {
    const seen: string[] = []
    middleware = [(stream, connection, next) => {
      seen.push(`${stream.protocol} ${connection.remotePeer.toString()}`)
      next(stream, connection)
    }]
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => theirs[0]?.read.length === 3, 'the proposal and CONNECT')
    expect(seen).to.deep.equal([`${PROTOCOL} ${remote.toString()}`])
  })

  it('a middleware that never passes the stream on is bounded by the exchange timeout: the service stops cleanly meanwhile', async () => {
    middleware = [() => {}]
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => theirs.length === 1, 'a stream')
    await service?.stop()
    await until(() => outcomes.length === 1, 'an outcome')
    expect(outcomes[0]).to.include({ success: false })
    expect(theirs[0].read).to.deep.equal([])
  })
})
