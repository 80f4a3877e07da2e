/**
 * The service: DCUtR over TCP from a pre-picked port (see punch.ts), in both
 * roles, and the security roles go-libp2p (>= 0.41) expects after a
 * simultaneous open: the initiator (who got the relayed connection inbound
 * and opened the exchange) upgrades as the responder on its first attempts
 * and as the initiator on its third; the receiver mirrors it.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import * as c from './constants.ts'
import { NoDialableAddressError, NoPublicAddressError, PunchFailedError, TooManyHolePunchesError, UnexpectedMessageError } from './errors.ts'
import { initiate, receive } from './exchange.ts'
import { HolePunchMetrics } from './metrics.ts'
import { ObservedAddresses, isPublicIPv4, isUnicastIPv4, observerKey } from './observed.ts'
import { openUnnegotiated } from './optimistic-stream.ts'
import { connectFrom, pickLocalPort } from './punch.ts'
import { SocketConnection } from './socket-conn.ts'
import type { InitiatorResult } from './exchange.ts'
import type { HolePunching, HolePunchingComponents, HolePunchingInit, HolePunchOutcome, HolePunchingMetrics, HolePunchRole } from './index.ts'
import type { HostPort } from './punch.ts'
import type { AbortOptions, Connection, IdentifyResult, Logger, PeerId, PeerUpdate, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const isRelayed = (conn: Connection): boolean => conn.remoteAddr.getComponents().some(c => c.name === 'p2p-circuit')

/** Which side of the noise/multistream handshake we take on a punched socket */
export function securityRole (role: HolePunchRole, attempt: number): 'client' | 'server' {
  const switched = attempt % c.ROLE_SWITCH_ATTEMPT === 0
  return (role === 'receiver') !== switched ? 'client' : 'server'
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The socket operations of a punch (replaced in tests) */
export interface HolePunchingDeps {
  pickLocalPort: typeof pickLocalPort
  connectFrom: typeof connectFrom
}

export class HolePunchingService implements HolePunching, Startable {
  readonly [Symbol.toStringTag] = '@x/hole-punching'
  readonly [serviceCapabilities]: string[] = ['@x/hole-punching']

  private readonly components: HolePunchingComponents
  private readonly log: Logger
  private readonly exchangeTimeout: number
  private readonly dialTimeout: number
  private readonly maxAttempts: number
  private readonly maxConcurrent: number
  private readonly onOutcome?: (outcome: HolePunchOutcome) => void
  private readonly observed: ObservedAddresses
  private readonly accept: (ip: string) => boolean
  private readonly metrics: HolePunchMetrics
  private readonly deps: HolePunchingDeps
  /** Receiver: CONNECTs per peer within ATTEMPT_WINDOW (at most MAX_TRACKED_PEERS peers) */
  private readonly attempts = new Map<string, { count: number, last: number }>()
  /** Receiver: a port being picked for each peer we dialled over a relay, ready before its CONNECT */
  private readonly spares = new Map<string, { port: Promise<number>, at: number }>()
  /** Initiator: peers we run a hole punch with now */
  private readonly initiating = new Set<string>()
  /** Initiators waiting for a free slot (at most one per peer in `initiating`) */
  private readonly slotWaiters = new Set<() => void>()
  private shutdown = new AbortController()
  private active = 0
  private started = false

  constructor (components: HolePunchingComponents, init: Required<Omit<HolePunchingInit, 'onOutcome'>> & Pick<HolePunchingInit, 'onOutcome'>, deps: Partial<HolePunchingDeps> = {}) {
    this.deps = { pickLocalPort, connectFrom, ...deps }
    this.components = components
    this.log = components.logger.forComponent('x:hole-punching')
    this.exchangeTimeout = init.exchangeTimeout
    this.dialTimeout = init.dialTimeout
    this.maxAttempts = init.maxAttempts
    this.maxConcurrent = init.maxConcurrent
    this.onOutcome = init.onOutcome
    this.accept = init.allowPrivateAddresses ? isUnicastIPv4 : isPublicIPv4
    this.observed = new ObservedAddresses(init.minObservers, this.accept)
    this.metrics = new HolePunchMetrics(init.metricsPrefix, components.metrics, () => this.active)
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    this.shutdown = new AbortController()
    await this.components.registrar.handle(c.PROTOCOL, (stream, connection) => {
      void this.onStream(stream, connection)
    }, { runOnLimitedConnection: true, maxInboundStreams: 2, maxOutboundStreams: 2 })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('connection:close', this.onConnectionClose)
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.shutdown.abort(new Error('hole punching stopped'))
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('connection:close', this.onConnectionClose)
    await this.components.registrar.unhandle(c.PROTOCOL)
    this.attempts.clear()
    this.initiating.clear()
    this.spares.clear()
  }

  getPublicAddress (): string | undefined {
    return this.observed.publicIp()
  }

  getMetrics (): HolePunchingMetrics {
    return { ...this.metrics.snapshot(), active: this.active, publicAddress: this.observed.publicIp() }
  }

  getOutcomes (): HolePunchOutcome[] {
    return this.metrics.outcomes()
  }

  /** Each DCUtR message, at trace level (`x:hole-punching:trace`) */
  private readonly trace = (step: string): void => {
    this.log.trace(step)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { observedAddr, connection, peerId } = evt.detail

    if (observedAddr != null && !isRelayed(connection)) {
      // one observer per remote IP (go-libp2p counts them so too), not per peer id
      const now = Date.now()
      this.observed.record(observedAddr, observerKey(connection.remoteAddr) ?? peerId.toString(), now, connection.id)

      // identify awaits peer store writes before it reports: a short-lived
      // connection (an AutoNAT dial-back) may have closed by now, and its
      // close event will not come again
      if (connection.status != null && connection.status !== 'open') {
        this.observed.closed(connection.id, now)
      }
    }
  }

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail

    if (!isRelayed(conn) || this.hasDirect(conn.remotePeer)) {
      return
    }

    if (conn.direction === 'outbound') {
      // we will be the receiver: have a port ready before the peer's CONNECT
      this.prepareSpare(conn.remotePeer.toString())
      return
    }

    if (!this.initiating.has(conn.remotePeer.toString())) {
      void this.runInitiator(conn)
    }
  }

  /** Start picking a port for the peer's first CONNECT (bounded by MAX_TRACKED_PEERS, the oldest dropped) */
  private prepareSpare (key: string): void {
    if (this.spares.has(key) || this.observed.publicIp() == null) {
      return
    }

    if (this.spares.size >= c.MAX_TRACKED_PEERS) {
      this.spares.delete(this.spares.keys().next().value ?? '')
    }

    const port = this.deps.pickLocalPort({ signal: this.shutdown.signal })
    port.catch(() => {})
    this.spares.set(key, { port, at: Date.now() })
  }

  /** The port prepared for the peer, if one was picked less than SPARE_PORT_MAX_AGE ago; each is used once */
  private takeSpare (key: string): Promise<number> | undefined {
    const spare = this.spares.get(key)
    this.spares.delete(key)
    return spare != null && Date.now() - spare.at < c.SPARE_PORT_MAX_AGE ? spare.port : undefined
  }

  /** Observations made over a connection expire once it closed (see ObservedAddresses) */
  private readonly onConnectionClose = (evt: CustomEvent<Connection>): void => {
    this.observed.closed(evt.detail.id, Date.now())

    if (evt.detail.remotePeer != null && isRelayed(evt.detail)) {
      this.spares.delete(evt.detail.remotePeer.toString())
    }
  }

  private hasDirect (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).some(conn => conn.status === 'open' && !isRelayed(conn))
  }

  /** Our NAT's public IP; throws `NoPublicAddressError` while too few peers observed it */
  private publicIp (): string {
    const ip = this.observed.publicIp()

    if (ip == null) {
      throw new NoPublicAddressError('too few peers observed our public IPv4 address')
    }

    return ip
  }

  /** Our address for one punch: `<NAT IP>:<port>`, the port prepared for the peer (`spare`) or picked now */
  private async ownAddr (options: AbortOptions, spare?: Promise<number>): Promise<{ addr: Multiaddr, port: number }> {
    const ip = this.publicIp()
    const port = spare != null ? await spare.catch(async () => this.deps.pickLocalPort(options)) : await this.deps.pickLocalPort(options)
    return { addr: multiaddr(`/ip4/${ip}/tcp/${port}`), port }
  }

  private async runInitiator (relayed: Connection): Promise<void> {
    const peer = relayed.remotePeer
    const key = peer.toString()
    const signal = this.shutdown.signal
    const giveUpAt = Date.now() + c.PROTOCOL_WAIT
    this.initiating.add(key)

    try {
      let refused = false
      let busy = false
      // exchanges that reached the peer's handler (go counts those too)
      let attempt = 0

      while (attempt < this.maxAttempts) {
        // the first try goes out at once, without waiting for identify; after
        // a refusal, wait until the peer announces DCUtR or a recheck is due
        // (we may not hear identify pushes: `@libp2p/identify`'s identifyPush)
        if (refused) {
          await this.waitForProtocol(peer, signal)
          refused = false
        }

        // every slot was taken: wait until one frees or a recheck is due
        if (busy) {
          await this.waitForSlot(signal)
          busy = false
        }

        if (this.hasDirect(peer) || relayed.status !== 'open' || signal.aborted) {
          return
        }

        const started = Date.now()
        let stream: Stream | undefined
        let claimed = false
        let exchanged = false

        try {
          this.claim()
          claimed = true
          this.publicIp()
          const exchangeSignal = AbortSignal.any([signal, AbortSignal.timeout(this.exchangeTimeout)])
          // pick the port while the stream is negotiated (a relay round trip)
          const own = this.ownAddr({ signal: exchangeSignal })
          own.catch(() => {})
          this.log('opening the exchange with %p', peer)
          const opened = await this.openExchange(relayed, giveUpAt, exchangeSignal)

          if (opened == null) {
            refused = true
            continue
          }

          stream = opened.stream
          this.log.trace('exchange stream open to %p', peer)
          const { addr, port } = await own

          attempt++
          const result = await this.exchange(stream, addr, opened.propose, giveUpAt, exchangeSignal, async () => this.identifyOver(relayed, exchangeSignal))

          if (result == null) {
            // not an attempt: the peer does not handle DCUtR yet
            attempt--
            refused = true
            continue
          }

          const { addrs, rtt } = result
          exchanged = true
          this.log('SYNC sent to %p, CONNECT answered in %d ms', peer, rtt)
          // SYNC is on its way: it reaches the peer (who dials at once) in about rtt / 2
          await sleep(rtt / 2, signal)
          const remoteAddr = await this.punch(peer, addrs, port, securityRole('initiator', attempt), signal)
          this.record({ peer, role: 'initiator', attempt, success: true, durationMs: Date.now() - started, advertised: addr.toString(), remoteAddr: remoteAddr.toString() })
          return
        } catch (err: any) {
          // peers that hold every slot (stalled exchanges) must not lock this one out
          if (err?.name === 'TooManyHolePunchesError' && Date.now() < giveUpAt && !signal.aborted) {
            busy = true
            continue
          }

          this.record({ peer, role: 'initiator', attempt: Math.max(attempt, 1), success: false, durationMs: Date.now() - started, error: err?.name ?? 'Error', message: err?.message })

          // as go-libp2p: a failure before or during the exchange ends the
          // hole punch (a receiver starts counting attempts over); only a
          // failed punch is retried
          if (!exchanged || signal.aborted) {
            return
          }
        } finally {
          if (claimed) {
            this.release()
          }
          stream?.abort(new Error('hole punch settled'))
        }
      }
    } catch (err) {
      this.log('hole punch with %p ended - %e', peer, err)
    } finally {
      this.initiating.delete(key)
    }
  }

  /** The initiator's CONNECT and SYNC; undefined when the peer answered the optimistic proposal with `na` before `giveUpAt` */
  private async exchange (stream: Stream, addr: Multiaddr, propose: string | undefined, giveUpAt: number, signal: AbortSignal, beforeSync: () => Promise<void>): Promise<InitiatorResult | undefined> {
    try {
      return await initiate(stream, [addr], this.accept, () => Date.now(), { signal, trace: this.trace, propose, beforeSync })
    } catch (err: any) {
      if (err?.name === 'UnsupportedProtocolError' && Date.now() < giveUpAt && !this.shutdown.signal.aborted) {
        this.log('the peer refused DCUtR on stream %s', stream.id)
        return undefined
      }

      throw err
    }
  }

  /**
   * The exchange's stream: opened optimistically (the multistream-select
   * proposal goes out with the CONNECT, `propose`), or negotiated by
   * `newStream` when the connection exposes no muxer; undefined when the
   * peer refuses the protocol before `giveUpAt` (try again later)
   */
  private async openExchange (relayed: Connection, giveUpAt: number, signal: AbortSignal): Promise<{ stream: Stream, propose?: string } | undefined> {
    const optimistic = await openUnnegotiated(relayed, c.PROTOCOL, this.components.registrar, { signal })

    if (optimistic != null) {
      this.components.metrics?.trackProtocolStream(optimistic)
      return { stream: optimistic, propose: c.PROTOCOL }
    }

    try {
      return { stream: await relayed.newStream(c.PROTOCOL, { runOnLimitedConnection: true, signal }) }
    } catch (err: any) {
      if (err?.name === 'UnsupportedProtocolError' && Date.now() < giveUpAt) {
        this.log('%p does not speak DCUtR yet', relayed.remotePeer)
        return undefined
      }

      throw err
    }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const started = Date.now()
    const signal = this.shutdown.signal
    let attempt = 0
    let claimed = false
    let exchanged = false

    try {
      // the receiver is the peer that dialled the relayed connection
      if (!isRelayed(connection) || connection.direction !== 'outbound') {
        throw new UnexpectedMessageError('a DCUtR stream is only accepted on a relayed connection we dialled')
      }

      this.claim()
      claimed = true
      attempt = this.countAttempt(peer.toString(), started)
      let port = 0
      const exchangeSignal = AbortSignal.any([signal, AbortSignal.timeout(this.exchangeTimeout)])
      let advertised: Multiaddr | undefined
      // the port picked when the relayed connection opened (or one picked
      // now): the initiator times our answer as the RTT and waits half of
      // it before it dials
      const own = this.ownAddr({ signal: exchangeSignal }, this.takeSpare(peer.toString()))
      own.catch(() => {})
      const addrs = await receive(stream, async () => {
        const picked = await own
        port = picked.port
        advertised = picked.addr
        return [picked.addr]
      }, this.accept, { signal: exchangeSignal, trace: this.trace })
      exchanged = true
      this.log('SYNC from %p', peer)
      // done with the stream (go closes its end too): free the peer's stream
      // slot for its next attempt while this punch may still be dialling
      stream.close().catch(() => {})
      const remoteAddr = await this.punch(peer, addrs, port, securityRole('receiver', attempt), signal)
      this.attempts.delete(peer.toString())
      this.record({ peer, role: 'receiver', attempt, success: true, durationMs: Date.now() - started, advertised: advertised?.toString(), remoteAddr: remoteAddr.toString() })
    } catch (err: any) {
      if (!exchanged) {
        // go-libp2p's initiator gives up on a failed exchange; its next one
        // (for a new relayed connection) is its attempt 1 again
        this.attempts.delete(peer.toString())
      }

      this.record({ peer, role: 'receiver', attempt, success: false, durationMs: Date.now() - started, error: err?.name ?? 'Error', message: err?.message })
    } finally {
      if (claimed) {
        this.release()
      }
      stream.abort(new Error('hole punch settled'))
    }
  }

  /** Connect from `localPort` and upgrade the socket in `role`; resolves with the connection's remote address */
  private async punch (peer: PeerId, addrs: HostPort[], localPort: number, role: 'client' | 'server', shutdown: AbortSignal): Promise<Multiaddr> {
    const timeout = AbortSignal.timeout(this.dialTimeout)

    try {
      return await this.connectAndUpgrade(peer, addrs, localPort, role, AbortSignal.any([shutdown, timeout]))
    } catch (err: any) {
      // name the punch's own timeout (at any step) apart from the exchange's `TimeoutError`
      if (timeout.aborted && !shutdown.aborted) {
        throw new PunchFailedError(`no direct connection from port ${localPort} within ${this.dialTimeout} ms (${String(err.message)})`)
      }

      throw err
    }
  }

  private async connectAndUpgrade (peer: PeerId, addrs: HostPort[], localPort: number, role: 'client' | 'server', signal: AbortSignal): Promise<Multiaddr> {
    // a CONNECT may name any host: the user's gater decides, as for any dial
    addrs = await this.allowedAddrs(peer, addrs)
    signal.throwIfAborted()
    this.log('punching %p from port %d to %s as %s', peer, localPort, addrs.map(a => `${a.host}:${a.port}`).join(', '), role)
    const { socket, addr } = await this.deps.connectFrom(addrs, localPort, { signal })
    const remoteAddr = multiaddr(`/ip4/${addr.host}/tcp/${addr.port}/p2p/${peer}`)
    const maConn = new SocketConnection({ socket, remoteAddr, log: this.log.newScope('socket'), direction: role === 'client' ? 'outbound' : 'inbound' })

    try {
      await this.components.upgrader.upgradeOutbound(maConn, { signal, initiator: role === 'client' })
    } catch (err: any) {
      maConn.abort(err)
      throw err
    }

    return remoteAddr
  }

  /** The addresses the connection gater lets us dial; throws `NoDialableAddressError` when it denies them all */
  private async allowedAddrs (peer: PeerId, addrs: HostPort[]): Promise<HostPort[]> {
    const gater = this.components.connectionGater

    if (gater == null) {
      return addrs
    }

    if (await gater.denyDialPeer?.(peer) === true) {
      throw new NoDialableAddressError('the connection gater denies dialling the peer')
    }

    const allowed: HostPort[] = []

    for (const addr of addrs) {
      if (await gater.denyDialMultiaddr?.(multiaddr(`/ip4/${addr.host}/tcp/${addr.port}/p2p/${peer}`)) !== true) {
        allowed.push(addr)
      }
    }

    if (allowed.length === 0) {
      throw new NoDialableAddressError('the connection gater denies every address the peer sent')
    }

    return allowed
  }

  /**
   * Resolves once the peer's identify of us over `relayed` is over, or after
   * IDENTIFY_WAIT, or on abort. go-libp2p's identify expires the temporary
   * addresses its peer store holds when it completes, among them those a
   * SYNC has it dial (host.Connect adds them with TempAddrTTL): a SYNC that
   * arrives while go processes our identify answer leaves it "no good
   * addresses" to dial (seen in the lab: our punch then waited dialTimeout).
   * go opens its identify stream when the connection opens, so its frames
   * came before its CONNECT answer, and closes it only once it processed our
   * answer: wait for every inbound identify stream on the connection (or one
   * still negotiating its protocol) to close. go handles an identify push of
   * ours the same way (it closes the stream once it processed it): wait for
   * our outbound push streams on the connection too.
   */
  private async identifyOver (relayed: Connection, signal: AbortSignal): Promise<void> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(c.IDENTIFY_WAIT)])
    const pending = relayed.streams.filter(s => s.status === 'open' && (s.direction === 'inbound'
      ? s.protocol === c.IDENTIFY_PROTOCOL || s.protocol === ''
      : s.protocol === c.IDENTIFY_PUSH_PROTOCOL))

    try {
      await Promise.all(pending.map(async stream => this.waitForEvent(deadline, (done) => {
        stream.addEventListener('close', done, { once: true })
        return () => { stream.removeEventListener('close', done) }
      })))
    } catch {
      // IDENTIFY_WAIT is up (on abort the exchange's own signal reports it)
      this.log('the identify of %p is not over after %d ms, sending SYNC anyway', relayed.remotePeer, c.IDENTIFY_WAIT)
    }

    this.trace(`identify over (waited for ${pending.length} streams)`)
  }

  /** Resolves when `listen`'s `done` is called; rejects when `signal` aborts; `listen` returns its cleanup */
  private async waitForEvent (signal: AbortSignal, listen: (done: () => void) => () => void): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        cleanup()
        signal.removeEventListener('abort', onAbort)
        if (err != null) { reject(err) } else { resolve() }
      }
      const onAbort = (): void => { finish(signal.reason ?? new Error('aborted')) }
      const cleanup = listen(() => { finish() })
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Resolves true on an identify (or identify push) that lists DCUtR for the
   * peer, false after PROTOCOL_RECHECK or on abort. go-libp2p registers its
   * handler only once it has a public address of its own, and pushes its
   * protocols when it does.
   */
  private async waitForProtocol (peer: PeerId, signal: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.components.events.removeEventListener('peer:identify', onIdentify)
        this.components.events.removeEventListener('peer:update', onUpdate)
        resolve(result)
      }
      const onAbort = (): void => { done(false) }
      const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
        if (evt.detail.peerId.equals(peer) && evt.detail.protocols.includes(c.PROTOCOL)) {
          done(true)
        }
      }
      const onUpdate = (evt: CustomEvent<PeerUpdate>): void => {
        if (evt.detail.peer.id.equals(peer) && evt.detail.peer.protocols.includes(c.PROTOCOL)) {
          done(true)
        }
      }
      const timer = setTimeout(() => { done(false) }, c.PROTOCOL_RECHECK)
      signal.addEventListener('abort', onAbort, { once: true })
      this.components.events.addEventListener('peer:identify', onIdentify)
      this.components.events.addEventListener('peer:update', onUpdate)
    })
  }

  private countAttempt (key: string, now: number): number {
    const entry = this.attempts.get(key)

    if (entry != null && now - entry.last < c.ATTEMPT_WINDOW) {
      entry.count++
      entry.last = now
      return entry.count
    }

    if (entry == null && this.attempts.size >= c.MAX_TRACKED_PEERS) {
      const oldest = this.attempts.keys().next().value

      if (oldest != null) {
        this.attempts.delete(oldest)
      }
    }

    this.attempts.delete(key)
    this.attempts.set(key, { count: 1, last: now })
    return 1
  }

  private claim (): void {
    if (this.active >= this.maxConcurrent) {
      throw new TooManyHolePunchesError(`${this.maxConcurrent} hole punches already run`)
    }

    this.active++
  }

  private release (): void {
    this.active--

    for (const wake of this.slotWaiters) {
      wake()
    }
  }

  /** Resolves when a hole punch slot frees, after PROTOCOL_RECHECK, or on abort */
  private async waitForSlot (signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.slotWaiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, c.PROTOCOL_RECHECK)
      signal.addEventListener('abort', done, { once: true })
      this.slotWaiters.add(done)
    })
  }

  private record (outcome: HolePunchOutcome): void {
    this.metrics.record(outcome)
    this.log('%s attempt %d with %p: %s', outcome.role, outcome.attempt, outcome.peer, outcome.success ? `direct to ${outcome.remoteAddr}` : `${outcome.error} ${outcome.message ?? ''}`)

    try {
      this.onOutcome?.(outcome)
    } catch (err) {
      this.log.error('onOutcome threw - %e', err)
    }
  }
}
