/**
 * The service: argument checks, the per-peer channels (bounded), inbound
 * sessions, the optional links to `@x/connection-pool` and `@x/health`
 * (found by capability at `afterStart`), and the lifecycle.
 */
import { TimeoutError, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { isMultiaddr } from '@multiformats/multiaddr'
import { MESSAGE_BATCHING_CAPABILITY } from '@x/interface'
import { PeerChannel } from './channel.ts'
import { KIND_MESSAGE, KIND_REQUEST, PRIORITY_CODES, utf8ByteLength } from './codec.ts'
import { DEFAULT_REQUEST_TIMEOUT, MAX_NAME_BYTES } from './constants.ts'
import { BatchingStoppedError, InvalidBatchingOptionError, MessageTooLargeError, PendingAnswersLimitError, TooManyInboundStreamsError, TooManyPeersError, TooManyRequestsError } from './errors.ts'
import { InboundSession } from './inbound.ts'
import { BatchingMetricsRecorder, registerBatchingMetrics } from './metrics.ts'
import { resolveSettings } from './options.ts'
import { findHealth, findPool } from './services.ts'
import type { OutgoingItem } from './channel.ts'
import type { BatchingHandler, BatchingMetrics, BatchingTarget, MessageBatching, MessageBatchingComponents, MessageBatchingInit, RequestOptions, SendOptions } from './index.ts'
import type { BatchingSettings } from './options.ts'
import type { HealthLike, PoolLike } from './services.ts'
import type { Logger, PeerId, Startable, Stream } from '@libp2p/interface'

interface Target {
  peer: PeerId
  key: string
  dial?: BatchingTarget
}

/** A timer longer than this fires at once */
const MAX_REQUEST_TIMEOUT = 2 ** 31 - 1

export class MessageBatchingService implements MessageBatching, Startable {
  public readonly [serviceCapabilities]: string[] = [MESSAGE_BATCHING_CAPABILITY]
  public readonly [Symbol.toStringTag] = '@x/message-batching'

  private readonly components: MessageBatchingComponents
  private readonly settings: BatchingSettings
  private readonly log: Logger
  private readonly handlers = new Map<string, BatchingHandler>()
  private readonly channels = new Map<string, PeerChannel>()
  private readonly inbound = new Set<InboundSession>()
  private readonly metrics = new BatchingMetricsRecorder()
  /** Bytes of answers waiting to be written over all inbound sessions (at most maxPendingAnswerBytes) */
  private pendingAnswerBytes = 0
  private shutdown = new AbortController()
  private started = false
  private pool?: PoolLike
  private health?: HealthLike

  constructor (components: MessageBatchingComponents, init: MessageBatchingInit = {}) {
    this.components = components
    this.settings = resolveSettings(init)
    this.log = components.logger.forComponent('x:message-batching')
    this.shutdown.abort()

    if (components.metrics != null) {
      registerBatchingMetrics(components.metrics, this.settings.metricsPrefix, () => this.getMetrics())
    }
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    this.shutdown = new AbortController()

    for (const protocol of this.protocols()) {
      await this.components.registrar.handle(protocol, (stream, connection) => {
        this.accept(stream, connection.remotePeer)
      }, {
        maxInboundStreams: this.settings.maxInboundStreams,
        maxOutboundStreams: this.settings.maxOutboundStreams
      })
    }
    this.started = true
  }

  afterStart (): void {
    this.pool = findPool(this.components)
    this.health = findHealth(this.components)
    this.log('started; pool %s, health %s', this.pool != null ? 'found' : 'absent', this.health != null ? 'found' : 'absent')
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.shutdown.abort()
    for (const protocol of this.protocols()) {
      await this.components.registrar.unhandle(protocol)
    }
    const err = new BatchingStoppedError('the batching service stopped')

    for (const channel of this.channels.values()) {
      channel.close(err)
    }

    for (const session of this.inbound) {
      session.abort(err)
    }

    this.channels.clear()
    this.inbound.clear()
    this.pool = undefined
    this.health = undefined
  }

  handle (name: string, handler: BatchingHandler): void {
    checkName(name)

    if (typeof handler !== 'function') {
      throw new InvalidBatchingOptionError('the handler must be a function')
    }

    this.handlers.set(name, handler)
  }

  unhandle (name: string): void {
    this.handlers.delete(name)
  }

  async send (peer: BatchingTarget, name: string, data: Uint8Array, options: SendOptions = {}): Promise<void> {
    const { channel, priority } = this.prepare(peer, name, data, options)
    options.signal?.throwIfAborted()

    await new Promise<void>((resolve, reject) => {
      const item: OutgoingItem = {
        kind: KIND_MESSAGE,
        name,
        payload: data,
        priority,
        size: data.byteLength,
        written: () => { cleanup(); resolve() },
        fail: (err) => { cleanup(); reject(err) }
      }
      const onAbort = (): void => {
        channel.cancel(item)
        cleanup()
        reject(options.signal?.reason)
      }
      const cleanup = (): void => { options.signal?.removeEventListener('abort', onAbort) }

      options.signal?.addEventListener('abort', onAbort, { once: true })

      try {
        channel.enqueue(item)
      } catch (err) {
        cleanup()
        reject(err)
      }
    })
  }

  /**
   * `@x/health`'s timeout for the peer (a ping's), at least
   * `minRequestTimeout`; the default when health is absent or gives no
   * positive number
   */
  private adaptiveRequestTimeout (peer: PeerId): number {
    const fromHealth = this.health?.getTimeout(peer)

    if (typeof fromHealth !== 'number' || !Number.isFinite(fromHealth) || fromHealth <= 0) {
      return DEFAULT_REQUEST_TIMEOUT
    }

    return Math.min(Math.max(fromHealth, this.settings.minRequestTimeout), MAX_REQUEST_TIMEOUT)
  }

  async request (peer: BatchingTarget, name: string, data: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const { channel, priority, target } = this.prepare(peer, name, data, options)
    options.signal?.throwIfAborted()

    // requests given up on but unanswered still hold a slot at the remote: never make it reset the stream for them
    if (channel.outstandingRequests + channel.abandonedRequests >= this.settings.limits.maxInflightRequests) {
      throw new TooManyRequestsError(`${channel.outstandingRequests + channel.abandonedRequests} requests to ${target.key} are unanswered`)
    }

    const timeout = this.settings.requestTimeout ?? this.adaptiveRequestTimeout(target.peer)

    return new Promise<Uint8Array>((resolve, reject) => {
      const item: OutgoingItem = {
        kind: KIND_REQUEST,
        name,
        payload: data,
        priority,
        size: data.byteLength,
        answered: (answer) => { cleanup(); resolve(answer) },
        fail: (err) => { cleanup(); reject(err) }
      }
      const giveUp = (err: Error): void => {
        channel.cancel(item)
        cleanup()
        reject(err)
      }
      const onAbort = (): void => { giveUp(options.signal?.reason) }
      // the caller's signal or the timeout, whichever comes first
      const timer = setTimeout(() => {
        this.metrics.requestsTimedOut++
        giveUp(new TimeoutError(`no answer from ${target.key} to "${name}" within ${timeout} ms`))
      }, timeout)
      const cleanup = (): void => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
      }

      options.signal?.addEventListener('abort', onAbort, { once: true })
      channel.outstandingRequests++

      try {
        channel.enqueue(item)
      } catch (err: any) {
        channel.cancel(item)
        cleanup()
        reject(err)
      }
    })
  }

  getMetrics (): BatchingMetrics {
    return this.metrics.snapshot({
      queueLengths: () => {
        const lengths = { high: 0, normal: 0, low: 0 }

        for (const channel of this.channels.values()) {
          lengths.high += channel.queues.lengthOf(0)
          lengths.normal += channel.queues.lengthOf(1)
          lengths.low += channel.queues.lengthOf(2)
        }

        return lengths
      },
      peers: () => this.channels.size,
      inboundStreams: () => this.inbound.size,
      pendingAnswerBytes: () => this.pendingAnswerBytes
    }, Date.now())
  }

  private prepare (peer: BatchingTarget, name: string, data: Uint8Array, options: SendOptions): { channel: PeerChannel, priority: number, target: Target } {
    if (!this.started) {
      throw new BatchingStoppedError('the batching service is not started')
    }

    const target = toTarget(peer)
    checkName(name)

    if (!(data instanceof Uint8Array)) {
      throw new InvalidBatchingOptionError('data must be a Uint8Array')
    }

    if (data.byteLength > this.settings.limits.maxMessageBytes) {
      throw new MessageTooLargeError(`${data.byteLength} bytes is more than limits.maxMessageBytes (${this.settings.limits.maxMessageBytes})`)
    }

    const priority = PRIORITY_CODES[options.priority ?? 'normal']

    if (priority == null) {
      throw new InvalidBatchingOptionError(`priority must be 'high', 'normal' or 'low', got ${String(options.priority)}`)
    }

    // before the channel exists: an aborted call leaves no empty channel behind
    options.signal?.throwIfAborted()

    return { channel: this.channel(target), priority, target }
  }

  private channel (target: Target): PeerChannel {
    let channel = this.channels.get(target.key)

    if (channel != null) {
      return channel
    }

    if (this.channels.size >= this.settings.maxPeers) {
      const idle = [...this.channels.values()].find(c => c.queues.length === 0 && c.outstandingRequests === 0)

      if (idle == null) {
        throw new TooManyPeersError(`${this.channels.size} peers have messages in flight (maxPeers)`)
      }

      idle.close(new BatchingStoppedError('closed to make room for another peer'))
      this.channels.delete(idle.peer.toString())
    }

    const dial = target.dial
    channel = new PeerChannel(target.peer, {
      settings: this.settings,
      metrics: this.metrics,
      log: this.log,
      shutdown: this.shutdown.signal,
      open: async (peer, signal) => this.openStream(peer, dial, signal),
      idle: (c) => {
        if (this.channels.get(target.key) === c) {
          this.channels.delete(target.key)
        }
      }
    })
    this.channels.set(target.key, channel)
    return channel
  }

  /** The protocols to offer, most preferred first: flow-controlled, then plain */
  private protocols (): string[] {
    const flow = this.settings.flowControl?.protocol
    return flow == null ? [this.settings.protocol] : [flow, this.settings.protocol]
  }

  private async openStream (peer: PeerId, dial: BatchingTarget | undefined, signal: AbortSignal): Promise<Stream> {
    if (dial != null && isMultiaddr(dial) && this.components.connectionManager.getConnections(peer).length === 0) {
      await this.components.connectionManager.openConnection(dial, { signal })
    }

    if (this.pool != null) {
      return this.pool.newStream(peer, this.protocols(), { signal })
    }

    return this.components.connectionManager.openStream(peer, this.protocols(), { signal })
  }

  private accept (stream: Stream, peer: PeerId): void {
    if (!this.started) {
      stream.abort(new BatchingStoppedError('the batching service is not started'))
      return
    }

    if (this.inbound.size >= this.settings.maxInboundSessions) {
      this.metrics.inboundStreamsRefused++
      this.log('refusing a stream from %p: %d inbound streams are open (maxInboundSessions)', peer, this.inbound.size)
      stream.abort(new TooManyInboundStreamsError(`${this.inbound.size} inbound streams are open (maxInboundSessions)`))
      return
    }

    const session = new InboundSession(stream, peer, {
      settings: this.settings,
      metrics: this.metrics,
      log: this.log,
      handlers: this.handlers,
      closed: (s) => { this.inbound.delete(s) },
      reserveAnswer: (s, bytes) => this.reserveAnswer(s, bytes),
      releaseAnswer: (bytes) => { this.pendingAnswerBytes -= bytes }
    })
    this.inbound.add(session)
  }

  /**
   * Makes room for `bytes` of answers waiting: while over
   * maxPendingAnswerBytes the session holding the most is reset (its
   * answers are dropped); false when that was `session` itself
   */
  private reserveAnswer (session: InboundSession, bytes: number): boolean {
    while (this.pendingAnswerBytes + bytes > this.settings.maxPendingAnswerBytes) {
      let largest = session

      for (const other of this.inbound) {
        if (other.pendingBytes > largest.pendingBytes) {
          largest = other
        }
      }

      this.metrics.pendingAnswerResets++
      this.log('resetting the stream from %p: %d bytes of answers wait over all streams (maxPendingAnswerBytes), %d of them its own', largest.peer, this.pendingAnswerBytes, largest.pendingBytes)
      largest.abort(new PendingAnswersLimitError(`${this.pendingAnswerBytes + bytes} bytes of answers would wait, more than maxPendingAnswerBytes (${this.settings.maxPendingAnswerBytes})`))

      if (largest === session) {
        return false
      }
    }

    this.pendingAnswerBytes += bytes
    return true
  }
}

function checkName (name: string): void {
  if (typeof name !== 'string' || name.length === 0 || (name.length * 3 > MAX_NAME_BYTES && utf8ByteLength(name) > MAX_NAME_BYTES)) {
    throw new InvalidBatchingOptionError(`a name must be a string of 1..${MAX_NAME_BYTES} bytes`)
  }
}

function toTarget (peer: BatchingTarget): Target {
  if (isMultiaddr(peer)) {
    const id = peer.getComponents().findLast(c => c.name === 'p2p')?.value

    if (id == null) {
      throw new InvalidBatchingOptionError(`the multiaddr ${peer.toString()} does not end in /p2p/<peer id>`)
    }

    const peerId = peerIdFromString(id)
    return { peer: peerId, key: peerId.toString(), dial: peer }
  }

  if (peer == null || typeof (peer as PeerId).toMultihash !== 'function') {
    throw new InvalidBatchingOptionError('peer must be a PeerId or a multiaddr with /p2p/<peer id>')
  }

  return { peer, key: peer.toString() }
}
