/**
 * The service with stubbed components: when it opens the exchange, and what
 * it does when the peer turns out not to speak DCUtR yet.
 */
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { PROTOCOL } from '../src/constants.ts'
import { HolePunch } from '../src/pb/message.ts'
import { pickLocalPort } from '../src/punch.ts'
import { HolePunchingService } from '../src/service.ts'
import type { HolePunchOutcome } from '../src/index.ts'
import type { Libp2pEvents, PeerId, StreamHandler } from '@libp2p/interface'

class UnsupportedProtocolError extends Error {
  name = 'UnsupportedProtocolError'
}

async function until (fn: () => boolean): Promise<void> {
  while (!fn()) {
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

const peer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('hole punching service', () => {
  let events: TypedEventEmitter<Libp2pEvents>
  let service: HolePunchingService
  let remote: PeerId
  let streamsOpened: number
  const outcomes: HolePunchOutcome[] = []

  beforeEach(async () => {
    events = new TypedEventEmitter<Libp2pEvents>()
    remote = await peer()
    streamsOpened = 0
    outcomes.length = 0
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 5_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false, onOutcome: o => outcomes.push(o) })
    await service.start()
    // one observer of our NAT's address, over a direct connection
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/16.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } } as any })
  })

  afterEach(async () => {
    await service.stop()
  })

  const relayed = (): any => ({
    remotePeer: remote,
    remoteAddr: multiaddr(`/ip4/11.0.0.10/tcp/4001/p2p/${remote.toString()}/p2p-circuit/p2p/${remote.toString()}`),
    direction: 'inbound',
    status: 'open',
    streams: [],
    newStream: async () => {
      streamsOpened++
      throw new UnsupportedProtocolError('could not negotiate /libp2p/dcutr')
    }
  })

  it('opens the exchange when a relayed connection comes in; when the peer refuses the protocol it tries again once the peer announces DCUtR, without counting an attempt', async () => {
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => streamsOpened === 1)
    expect(outcomes).to.deep.equal([])

    // an identify push that lists DCUtR: the exchange is tried again
    events.safeDispatchEvent('peer:update', { detail: { peer: { id: remote, protocols: ['/ipfs/id/1.0.0', PROTOCOL] } } as any })
    await until(() => streamsOpened === 2)
    expect(outcomes).to.deep.equal([])
  })

  it('ignores outbound relayed connections and direct ones (the peer opens the exchange then)', async () => {
    events.safeDispatchEvent('connection:open', { detail: { ...relayed(), direction: 'outbound' } })
    events.safeDispatchEvent('connection:open', { detail: { ...relayed(), remoteAddr: multiaddr('/ip4/17.0.0.1/tcp/4100') } })
    // a relayed inbound one afterwards is handled: the two above were not
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    // the refusal frees the slot
    await until(() => streamsOpened === 1 && service.getMetrics().active === 0)
    expect(streamsOpened).to.equal(1)
  })

  it('gives up, as go-libp2p does, when the exchange stream cannot be opened for another reason than a refusal (no retry loop)', async () => {
    events.safeDispatchEvent('connection:open', {
      detail: {
        ...relayed(),
        newStream: async () => {
          streamsOpened++
          throw Object.assign(new Error('stream reset during protocol negotiation'), { name: 'StreamResetError' })
        }
      }
    })
    await until(() => outcomes.length > 0)
    // the hole punch with that peer has ended: no further stream, no further outcome
    await until(() => !(service as any).initiating.has(remote.toString()))
    expect(streamsOpened).to.equal(1)
    expect(outcomes).to.have.lengthOf(1)
    expect(outcomes[0]).to.include({ success: false, error: 'StreamResetError' })
    expect(service.getMetrics()).to.include({ active: 0 })
  })

  it('initiator: an exchange that fails ends the hole punch, as go-libp2p\'s does (a receiver then counts attempts from 1 again)', async () => {
    events.safeDispatchEvent('connection:open', {
      detail: {
        ...relayed(),
        newStream: async () => {
          streamsOpened++
          const [ours, theirs] = await streamPair()
          const pb = pbStream(theirs).pb(HolePunch)
          void pb.read().then(async () => pb.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })).catch(() => {})
          return ours
        }
      }
    })
    await until(() => outcomes.length > 0)
    await until(() => !(service as any).initiating.has(remote.toString()))
    expect(streamsOpened).to.equal(1)
    expect(outcomes).to.have.lengthOf(1)
    expect(outcomes[0]).to.include({ success: false, error: 'UnexpectedMessageError', attempt: 1 })
  })

  it('receiver: an exchange that fails ends the peer\'s run of attempts (go-libp2p starts over at attempt 1, in the security role of attempt 1)', async () => {
    await service.stop()
    let handler: StreamHandler | undefined
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: StreamHandler) => { handler = h }, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 5_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: true, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/127.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') } } as any })
    // we dialled the relayed connection: we are the receiver
    const connection: any = { ...relayed(), direction: 'outbound' }
    // a loopback port nothing listens on: the punch fails at once
    const closedPort = await pickLocalPort()

    // go's first DirectConnect: its CONNECT has nothing we may dial, the exchange fails and go gives up
    const [goSide1, ourSide1] = await streamPair()
    handler?.(ourSide1, connection)
    await pbStream(goSide1).pb(HolePunch).write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr('/ip4/127.0.0.1/tcp/4001/p2p-circuit').bytes] })
    await until(() => outcomes.length === 1)
    expect(outcomes[0]).to.include({ success: false, error: 'NoDialableAddressError' })

    // go's next DirectConnect (a new relayed connection) starts at attempt 1: a full exchange, then the punch
    const [goSide2, ourSide2] = await streamPair()
    handler?.(ourSide2, connection)
    const go = pbStream(goSide2).pb(HolePunch)
    await go.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${closedPort}`).bytes] })
    await go.read()
    await go.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
    await until(() => outcomes.length === 2)
    expect(outcomes[1]).to.include({ success: false, error: 'PunchFailedError', attempt: 1 })
  })

  it('counts one observer per remote IP, however many peer ids report from it (one host cannot name our address alone)', async () => {
    await service.stop()
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 2, exchangeTimeout: 5_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false })
    await service.start()
    const identify = async (observed: string, from: string): Promise<void> => {
      events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr(observed), connection: { remoteAddr: multiaddr(from) } } as any })
    }

    await identify('/ip4/66.6.6.6/tcp/1', '/ip4/99.0.0.1/tcp/4001')
    await identify('/ip4/66.6.6.6/tcp/2', '/ip4/99.0.0.1/tcp/4002')
    expect(service.getPublicAddress()).to.equal(undefined)

    await identify('/ip4/16.0.0.1/tcp/3', '/ip4/12.0.0.1/tcp/4001')
    await identify('/ip4/16.0.0.1/tcp/4', '/ip4/13.0.0.1/tcp/4001')
    expect(service.getPublicAddress()).to.equal('16.0.0.1')
  })

  it('asks the connection gater before it dials a peer\'s addresses (a CONNECT may name any host)', async () => {
    await service.stop()
    let handler: StreamHandler | undefined
    const asked: string[] = []
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: StreamHandler) => { handler = h }, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      connectionGater: { denyDialMultiaddr: async (ma: any) => { asked.push(ma.toString()); return true } },
      events,
      logger: defaultLogger()
    } as any, { minObservers: 1, exchangeTimeout: 5_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: true, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/127.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') } } as any })
    const port = await pickLocalPort()

    const [goSide, ourSide] = await streamPair()
    handler?.(ourSide, { ...relayed(), direction: 'outbound' })
    const go = pbStream(goSide).pb(HolePunch)
    await go.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`).bytes] })
    await go.read()
    await go.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
    await until(() => outcomes.length === 1)
    expect(asked).to.deep.equal([`/ip4/127.0.0.1/tcp/${port}/p2p/${remote.toString()}`])
    expect(outcomes[0]).to.include({ success: false, error: 'NoDialableAddressError' })
  })

  it('receiver: closes the exchange stream before it punches, as go-libp2p does (go\'s next attempt needs a stream while ours may still dial)', async () => {
    await service.stop()
    let handler: StreamHandler | undefined
    let upgrading = false
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: StreamHandler) => { handler = h }, unhandle: async () => {} } as any,
      // the upgrade hangs until the service stops
      upgrader: {
        upgradeOutbound: async (_: any, opts: { signal: AbortSignal }) => {
          upgrading = true
          return new Promise((resolve, reject) => { opts.signal.addEventListener('abort', () => { reject(opts.signal.reason) }) })
        }
      } as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 5_000, dialTimeout: 60_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: true, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/127.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') } } as any })
    let open = 0
    const server = createServer(socket => {
      open++
      socket.on('error', () => {})
      socket.on('close', () => { open-- })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))

    try {
      const [goSide, ourSide] = await streamPair()
      handler?.(ourSide, { ...relayed(), direction: 'outbound' })
      const go = pbStream(goSide).pb(HolePunch)
      await go.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`).bytes] })
      await go.read()
      await go.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
      await until(() => upgrading)
      expect(ourSide.writeStatus).to.not.equal('writable')

      // stop() mid-upgrade: the attempt fails, frees its slot, and the punched socket closes
      await service.stop()
      await until(() => outcomes.length === 1)
      expect(outcomes[0]).to.include({ success: false, role: 'receiver' })
      expect(service.getMetrics().active).to.equal(0)
      await until(() => open === 0)
    } finally {
      await service.stop()
      server.close()
    }
  })

  it('a punch that outlasts dialTimeout fails with PunchFailedError (not the exchange\'s TimeoutError)', async () => {
    await service.stop()
    let handler: StreamHandler | undefined
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async (_: string, h: StreamHandler) => { handler = h }, unhandle: async () => {} } as any,
      // the upgrade never ends by itself
      upgrader: {
        upgradeOutbound: async (_: any, opts: { signal: AbortSignal }) => new Promise((resolve, reject) => { opts.signal.addEventListener('abort', () => { reject(opts.signal.reason) }) })
      } as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 60_000, dialTimeout: 200, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: true, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/127.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') } } as any })
    const server = createServer(socket => { socket.on('error', () => {}) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))

    try {
      const [goSide, ourSide] = await streamPair()
      handler?.(ourSide, { ...relayed(), direction: 'outbound' })
      const go = pbStream(goSide).pb(HolePunch)
      await go.write({ type: HolePunch.Type.CONNECT, ObsAddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`).bytes] })
      await go.read()
      await go.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
      await until(() => outcomes.length === 1)
      expect(outcomes[0]).to.include({ success: false, error: 'PunchFailedError' })
    } finally {
      server.close()
    }
  })

  it('initiator: a peer that finds every hole punch slot taken is tried again once one frees (peers holding slots cannot lock it out)', async () => {
    await service.stop()
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 1, exchangeTimeout: 60_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 1, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('peer:identify', { detail: { peerId: await peer(), protocols: [], listenAddrs: [], observedAddr: multiaddr('/ip4/16.0.0.1/tcp/40000'), connection: { remoteAddr: multiaddr('/ip4/11.0.0.10/tcp/4001') } } as any })

    // a peer whose exchange stalls holds the only slot
    let release: ((err: Error) => void) | undefined
    const staller = await peer()
    events.safeDispatchEvent('connection:open', {
      detail: {
        ...relayed(),
        remotePeer: staller,
        newStream: async () => new Promise((resolve, reject) => { release = reject })
      }
    })
    await until(() => release != null && service.getMetrics().active === 1)

    // another peer comes in meanwhile
    let opened = 0
    events.safeDispatchEvent('connection:open', {
      detail: {
        ...relayed(),
        newStream: async () => {
          opened++
          throw Object.assign(new Error('reset'), { name: 'StreamResetError' })
        }
      }
    })
    await until(() => (service as any).initiating.size === 2)
    release?.(new Error('stalled exchange ends'))
    // it gets the slot once the staller's exchange ended
    await until(() => opened === 1)
  })

  it('reports NoPublicAddressError and stops when no peer observed our address', async () => {
    await service.stop()
    service = new HolePunchingService({
      peerId: await peer(),
      registrar: { handle: async () => {}, unhandle: async () => {} } as any,
      upgrader: {} as any,
      connectionManager: { getConnections: () => [] } as any,
      events,
      logger: defaultLogger()
    }, { minObservers: 2, exchangeTimeout: 5_000, dialTimeout: 5_000, maxAttempts: 3, maxConcurrent: 8, metricsPrefix: 'x_hole_punching_', allowPrivateAddresses: false, onOutcome: o => outcomes.push(o) })
    await service.start()
    events.safeDispatchEvent('connection:open', { detail: relayed() })
    await until(() => outcomes.length === 1)
    expect(outcomes[0]).to.include({ success: false, error: 'NoPublicAddressError' })
    expect(streamsOpened).to.equal(0)
    expect(service.getMetrics()).to.include({ attempts: 1, failures: 1, active: 0 })
  })
})
