/**
 * The service's timing with injected sockets and fake timers: what it does
 * before CONNECT, when it dials after SYNC, when it gives up on a peer that
 * never speaks DCUtR, and how long an observation outlives its connection.
 * No assertion here depends on how fast the machine is.
 */
import { Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, pbStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import sinon from 'sinon'
import { OBSERVER_TTL, PROTOCOL, PROTOCOL_RECHECK, PROTOCOL_WAIT, SPARE_PORT_MAX_AGE } from '../src/constants.ts'
import { HolePunch } from '../src/pb/message.ts'
import { HolePunchingService } from '../src/service.ts'
import type { HolePunchingInit, HolePunchOutcome } from '../src/index.ts'
import type { HolePunchingDeps } from '../src/service.ts'
import type { Libp2pEvents, PeerId } from '@libp2p/interface'

const peer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** Let every pending microtask and I/O callback run (setImmediate is never faked here) */
async function settle (turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** Nothing here waits for real I/O: a condition unmet after 10,000 turns never will be */
async function until (fn: () => boolean): Promise<void> {
  for (let turns = 0; !fn(); turns++) {
    if (turns === 10_000) {
      throw new Error('condition not met')
    }
    await settle(1)
  }
}

class UnsupportedProtocolError extends Error {
  name = 'UnsupportedProtocolError'
}

describe('hole punching service: timing', () => {
  let events: TypedEventEmitter<Libp2pEvents>
  let service: HolePunchingService | undefined
  let clock: sinon.SinonFakeTimers | undefined
  let remote: PeerId
  const outcomes: HolePunchOutcome[] = []

  const init: Required<Omit<HolePunchingInit, 'onOutcome'>> = { minObservers: 1, exchangeTimeout: 60_000, dialTimeout: 60_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false }

  async function start (deps: Partial<HolePunchingDeps> = {}, upgrader: any = {}): Promise<HolePunchingService> {
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {}, getMiddleware: () => [] } as any,
      upgrader,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { ...init, onOutcome: o => outcomes.push(o) }, deps)
    await service.start()
    return service
  }

  /** One observer of our NAT's address, over an open direct connection */
  const observe = async (connId = 'observer-conn', ip = '11.0.0.10'): Promise<void> => {
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/16.0.0.1/tcp/40000'), connection: { id: connId, remoteAddr: multiaddr(`/ip4/${ip}/tcp/4001`) } } as any })
  }

  const relayed = (newStream: () => Promise<any>): any => ({
    remotePeer: remote,
    remoteAddr: multiaddr(`/ip4/11.0.0.10/tcp/4001/p2p/${remote.toString()}/p2p-circuit/p2p/${remote.toString()}`),
    direction: 'inbound',
    status: 'open',
    streams: [],
    newStream
  })

  beforeEach(async () => {
    events = new TypedEventEmitter<Libp2pEvents>()
    remote = await peer()
    outcomes.length = 0
  })

  afterEach(async () => {
    clock?.restore()
    clock = undefined
    await service?.stop()
    service = undefined
  })

  it('initiator: opens the exchange stream while it picks its port, not after (CONNECT leaves one relay round trip sooner)', async () => {
    let releasePort: (port: number) => void = () => {}
    const port = new Promise<number>(resolve => { releasePort = resolve })
    let opened = 0
    await start({ pickLocalPort: async () => port })
    await observe()

    events.safeDispatchEvent('connection:open', {
      detail: relayed(async () => {
        opened++
        throw Object.assign(new Error('stream reset during protocol negotiation'), { name: 'StreamResetError' })
      })
    })
    await settle()
    // the port pick has not finished, the stream is already on its way
    expect(opened).to.equal(1)
    releasePort(40_001)
    await until(() => outcomes.length === 1)
    expect(outcomes[0]).to.include({ success: false, error: 'StreamResetError' })
  })

  it('receiver: picks its port when the relayed connection opens, so its CONNECT answer (go times it as the RTT, then waits half of it) does not wait for a pick', async () => {
    const pending: Array<() => void> = []
    let picks = 0
    let handler: ((stream: any, connection: any) => void) | undefined
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: any) => { handler = h }, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { ...init, onOutcome: o => outcomes.push(o) }, {
      pickLocalPort: async () => new Promise<number>(resolve => { picks++; pending.push(() => { resolve(40_000 + picks) }) }),
      connectFrom: async () => new Promise(() => {})
    })
    await service.start()
    await observe()

    // we dialled the peer over the relay: it will open the exchange
    const connection = { ...relayed(async () => {}), direction: 'outbound' }
    events.safeDispatchEvent('connection:open', { detail: connection })
    await settle()
    pending.splice(0).forEach(release => { release() })

    const [ours, theirs] = await streamPair()
    handler?.(ours, connection)
    const pb = pbStream(theirs).pb(HolePunch)
    await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] })
    let answer: any
    void pb.read().then(msg => { answer = msg }, () => {})
    // no port pick is released from here on: the answer needs none
    await until(() => answer != null)
    expect(answer.type).to.equal(HolePunch.Type.CONNECT)
    expect(multiaddr(answer.ObsAddrs[0]).toString()).to.equal('/ip4/16.0.0.1/tcp/40001')
    expect(picks).to.equal(1)
  })

  it('receiver: a port picked SPARE_PORT_MAX_AGE or longer before the exchange is not used, a fresh one is (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['Date'] })
    let picks = 0
    let handler: ((stream: any, connection: any) => void) | undefined
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: any) => { handler = h }, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { ...init, onOutcome: o => outcomes.push(o) }, {
      pickLocalPort: async () => 40_000 + (++picks),
      connectFrom: async () => new Promise(() => {})
    })
    await service.start()
    await observe()

    const connection = { ...relayed(async () => {}), direction: 'outbound' }
    events.safeDispatchEvent('connection:open', { detail: connection })
    await until(() => picks === 1)
    clock.tick(SPARE_PORT_MAX_AGE)

    const [ours, theirs] = await streamPair()
    handler?.(ours, connection)
    const pb = pbStream(theirs).pb(HolePunch)
    await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] })
    const answer = await pb.read()
    expect(multiaddr(answer.ObsAddrs[0]).toString()).to.equal('/ip4/16.0.0.1/tcp/40002')
    expect(picks).to.equal(2)
  })

  it('initiator: still reports NoPublicAddressError without opening a stream when no peer observed our address', async () => {
    let opened = 0
    await start()
    events.safeDispatchEvent('connection:open', { detail: relayed(async () => { opened++ }) })
    await until(() => outcomes.length === 1)
    expect(outcomes[0]).to.include({ success: false, error: 'NoPublicAddressError' })
    expect(opened).to.equal(0)
  })

  it('initiator: dials rtt / 2 after it sent SYNC, never before (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const dialled: number[] = []
    let syncAt = -1
    await start({
      pickLocalPort: async () => 40_001,
      connectFrom: async (addrs) => {
        dialled.push(Date.now())
        return { socket: new Socket(), addr: addrs[0] }
      }
    }, { upgradeOutbound: async () => ({}) })
    await observe()

    events.safeDispatchEvent('connection:open', {
      detail: relayed(async () => {
        const [ours, theirs] = await streamPair()
        const pb = pbStream(theirs).pb(HolePunch)
        void (async () => {
          await pb.read()
          // our CONNECT answer takes 40 ms: the initiator's rtt
          clock?.tick(40)
          await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] })
          await pb.read()
          syncAt = Date.now()
        })().catch(() => {})
        return ours
      })
    })

    await until(() => syncAt >= 0)
    await settle()
    expect(dialled).to.deep.equal([])
    await clock.tickAsync(19)
    await settle()
    expect(dialled).to.deep.equal([])
    await clock.tickAsync(1)
    await until(() => outcomes.length === 1)
    expect(dialled).to.deep.equal([syncAt + 20])
    expect(outcomes[0]).to.include({ success: true, role: 'initiator', attempt: 1 })
  })

  it('initiator: times the RTT to the arrival of the peer\'s CONNECT, not to when its reader gets to run (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const dialled: number[] = []
    let syncAt = -1
    await start({
      pickLocalPort: async () => 40_001,
      connectFrom: async (addrs) => {
        dialled.push(Date.now())
        return { socket: new Socket(), addr: addrs[0] }
      }
    }, { upgradeOutbound: async () => ({}) })
    await observe()

    events.safeDispatchEvent('connection:open', {
      detail: relayed(async () => {
        const [ours, theirs] = await streamPair()
        // the node is busy when the answer arrives: 10 ms pass before anything
        // queued after the arrival (the service's reader) runs
        ours.addEventListener('message', () => { queueMicrotask(() => { clock?.tick(10) }) }, { once: true })
        const pb = pbStream(theirs).pb(HolePunch)
        void (async () => {
          await pb.read()
          clock?.tick(40)
          await pb.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] })
          await pb.read()
          syncAt = Date.now()
        })().catch(() => {})
        return ours
      })
    })

    await until(() => syncAt >= 0)
    // the RTT is 40 ms, not 50: the dial comes 20 ms after SYNC
    await clock.tickAsync(19)
    await settle()
    expect(dialled).to.deep.equal([])
    await clock.tickAsync(1)
    await until(() => outcomes.length === 1)
    expect(dialled).to.deep.equal([syncAt + 20])
  })

  it('initiator (optimistic selection): times the RTT to the peer\'s CONNECT, not to the multistream header go sends as soon as it accepts the stream (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const dialled: number[] = []
    let syncAt = -1
    await start({
      pickLocalPort: async () => 40_001,
      connectFrom: async (addrs) => {
        dialled.push(Date.now())
        return { socket: new Socket(), addr: addrs[0] }
      }
    }, { upgradeOutbound: async () => ({}) })
    await observe()

    const connection = relayed(async () => { throw new Error('the optimistic stream is used') })
    connection.muxer = {
      createStream: async () => {
        const [ours, theirs] = await streamPair()
        const lp = lpStream(theirs)
        void (async () => {
          // go-multistream's Negotiate writes its header when the stream
          // opens (the muxer's SYN), before it read our proposal
          await lp.write(new TextEncoder().encode('/multistream/1.0.0\n'))
          await lp.read()
          await lp.read()
          await lp.read()
          // the answer to our CONNECT takes 40 ms: the RTT
          clock?.tick(40)
          await lp.writeV([new TextEncoder().encode(`${PROTOCOL}\n`), HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/17.0.0.1/tcp/4102').bytes] })])
          await lp.read()
          syncAt = Date.now()
        })().catch(() => {})
        return ours
      }
    }
    events.safeDispatchEvent('connection:open', { detail: connection })

    await until(() => syncAt >= 0)
    await settle()
    await clock.tickAsync(19)
    await settle()
    expect(dialled).to.deep.equal([])
    await clock.tickAsync(1)
    await until(() => outcomes.length === 1)
    expect(dialled).to.deep.equal([syncAt + 20])
  })

  it('initiator: gives up on a peer that never speaks DCUtR after PROTOCOL_WAIT, retrying every PROTOCOL_RECHECK until then (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    let opened = 0
    await start({ pickLocalPort: async () => 40_001 })
    await observe()

    events.safeDispatchEvent('connection:open', {
      detail: relayed(async () => {
        opened++
        throw new UnsupportedProtocolError('could not negotiate /libp2p/dcutr')
      })
    })
    await until(() => opened === 1)

    const openedSoFar = (): number => opened

    for (let elapsed = 0; elapsed < PROTOCOL_WAIT - PROTOCOL_RECHECK; elapsed += PROTOCOL_RECHECK) {
      await clock.tickAsync(PROTOCOL_RECHECK)
      const expected = 2 + elapsed / PROTOCOL_RECHECK
      await until(() => openedSoFar() === expected)
      expect(outcomes).to.deep.equal([])
    }

    // the refusal at PROTOCOL_WAIT ends the hole punch
    await clock.tickAsync(PROTOCOL_RECHECK)
    await until(() => outcomes.length === 1)
    expect(outcomes[0]).to.include({ success: false, error: 'UnsupportedProtocolError' })
    expect(opened).to.equal(PROTOCOL_WAIT / PROTOCOL_RECHECK + 1)
    await until(() => !(service as any).initiating.has(remote.toString()))
    await clock.tickAsync(PROTOCOL_RECHECK * 3)
    await settle()
    expect(opened).to.equal(PROTOCOL_WAIT / PROTOCOL_RECHECK + 1)
  })

  it('forgets our public address OBSERVER_TTL after the observing connections closed (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['Date'] })
    const s = await start()
    await observe('conn-1')
    expect(s.getPublicAddress()).to.equal('16.0.0.1')

    events.safeDispatchEvent('connection:close', { detail: { id: 'conn-1', remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } as any })
    clock.tick(OBSERVER_TTL - 1)
    expect(s.getPublicAddress()).to.equal('16.0.0.1')
    clock.tick(1)
    expect(s.getPublicAddress()).to.equal(undefined)
  })

  it('an identify result for a connection that closed before it was dispatched (identify awaits peer store writes first) expires OBSERVER_TTL later, not never (fake clock)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['Date'] })
    const s = await start()
    // the connection:close event came first; the identify result names the closed connection
    events.safeDispatchEvent('connection:close', { detail: { id: 'short-lived', remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } as any })
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/16.0.0.1/tcp/40000'), connection: { id: 'short-lived', status: 'closed', remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } } as any })
    expect(s.getPublicAddress()).to.equal('16.0.0.1')
    clock.tick(OBSERVER_TTL)
    expect(s.getPublicAddress()).to.equal(undefined)
  })
})
