/**
 * The direct exchange (PROTOCOL.md D1-D5): a joining node that dials a
 * peer running this module sends it its announcement on a stream of its
 * own, and the peer answers with its announcement and the records of the
 * peers it heard, at once, without waiting for gossipsub.
 *
 * Gossipsub can deliver nothing to a peer before it has opened its
 * outbound stream to it, and js gossipsub opens those one at a time: a node
 * that 49 peers dial at once reached the last of them after 34 s in the
 * swarm bench. Until then that peer sees no subscriber, so it cannot
 * announce itself either. A stream of our own is opened in parallel with
 * gossipsub's, by the joiner.
 *
 * What a message says is judged exactly as a topic message from the same
 * author is (the gate, R1-R16): this file only moves bytes, bounded.
 */
import { lpStream } from '@libp2p/utils'
import { Budget } from './budget.ts'
import * as C from './constants.ts'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export interface DirectExchangeOptions {
  maxMessageSize: number
  interval: number
}

export interface DirectExchangeHost {
  /** Whether we open exchanges: we are joining (D1) */
  joining(): boolean
  /** Whether our pubsub knows a subscriber of our topics (D2) */
  reached(): boolean
  /** Our announcement, with the records of peers we heard when `to` is given (none of `to`'s own) */
  announcement(to?: PeerId): Promise<Uint8Array>
  /**
   * An announcement `peer` sent us over our connection to it: refused by
   * the gate, or accepted, and, if it is the answer to an exchange we
   * opened (`answer`), whether it named peers we did not know
   */
  received(peer: PeerId, data: Uint8Array, answer: boolean): ExchangeVerdict
  /** Counts what was refused, by reason */
  drop(reason: 'over-budget' | 'exchange-failed'): void
  /** Counts an exchange we opened, or answered */
  exchanged(side: 'opened' | 'answered'): void
}

/** What the gate made of an announcement on an exchange stream (D3) */
export type ExchangeVerdict = 'refused' | 'accepted' | 'taught'

/** D2: which pending repeat another exchange's repeat may not displace (higher keeps its place) */
const REPEAT_RANK: Record<ExchangeVerdict, number> = { accepted: 0, refused: 1, taught: 2 }

export class DirectExchange {
  private readonly registrar: Registrar
  private readonly options: DirectExchangeOptions
  private readonly host: DirectExchangeHost
  private readonly log: Logger
  /** D4: answers, node-wide */
  private readonly answers: Budget
  /** D1: exchanges we opened since start, at most MAX_EXCHANGES_OPENED */
  private opened = 0
  /** D1: peers we opened an exchange with on dialling them (at most MAX_EXCHANGES_OPENED) */
  private readonly asked = new Set<string>()
  /** D1: one of our exchanges was answered since start: we open no more on dialling */
  private answered = false
  /** D2: repeats an exchange that went unanswered, whose answer taught us peers, or while pubsub reaches us from nobody: one at a time */
  private repeatTimer?: ReturnType<typeof setTimeout>
  /** D2: how the exchange `repeatTimer` repeats ended */
  private repeatOutcome: ExchangeVerdict = 'accepted'
  private topologyId?: string
  private running = false
  /** Counts starts: a start that a stop and another start overtook registers nothing */
  private runs = 0
  private shutdown = new AbortController()

  constructor (registrar: Registrar, options: DirectExchangeOptions, host: DirectExchangeHost, log: Logger) {
    this.registrar = registrar
    this.options = options
    this.host = host
    this.log = log
    this.answers = new Budget(C.MAX_EXCHANGE_ANSWERS_PER_INTERVAL, options.interval)
  }

  async start (): Promise<void> {
    const run = ++this.runs
    this.running = true
    this.shutdown = new AbortController()
    this.opened = 0
    this.asked.clear()
    this.answered = false
    this.repeatOutcome = 'accepted'
    this.answers.reset()
    await this.registrar.handle(C.EXCHANGE_PROTOCOL, (stream, connection) => {
      void this.answer(stream, connection)
    }, { maxInboundStreams: 1, maxOutboundStreams: 1 })
    const id = await this.registrar.register(C.EXCHANGE_PROTOCOL, {
      onConnect: (peer, connection) => { this.onConnect(peer, connection) }
    })

    // stopped meanwhile (and maybe started again: that start registers its own)
    if (!this.running || run !== this.runs) {
      this.registrar.unregister(id)
      return
    }

    this.topologyId = id
  }

  stop (): void {
    this.running = false
    this.shutdown.abort()
    this.asked.clear()
    clearTimeout(this.repeatTimer)
    this.repeatTimer = undefined

    if (this.topologyId != null) {
      this.registrar.unregister(this.topologyId)
      this.topologyId = undefined
    }

    this.registrar.unhandle(C.EXCHANGE_PROTOCOL).catch(err => {
      this.log('could not stop handling %s - %e', C.EXCHANGE_PROTOCOL, err)
    })
  }

  /** D1: a connection we dialed while joining, until one exchange was answered: once per peer */
  private onConnect (peer: PeerId, connection: Connection): void {
    const key = peer.toString()

    if (!this.running || this.answered || connection.direction !== 'outbound' || this.asked.has(key) || this.asked.size >= C.MAX_EXCHANGES_OPENED || !this.host.joining()) {
      return
    }

    this.asked.add(key)
    void this.open(peer, connection)
  }

  /** D1, D2: our announcement, then theirs */
  private async open (peer: PeerId, connection: Connection): Promise<void> {
    if (this.opened >= C.MAX_EXCHANGES_OPENED) {
      return
    }

    this.opened++
    this.host.exchanged('opened')
    let stream: Stream | undefined
    // unanswered unless the gate accepts an answer
    let outcome: ExchangeVerdict = 'refused'

    try {
      await this.withDeadline(async signal => {
        stream = await connection.newStream(C.EXCHANGE_PROTOCOL, { signal })
        const lp = lpStream(stream, { maxDataLength: this.options.maxMessageSize })
        await lp.write(await this.host.announcement(), { signal })
        const answer = await lp.read({ signal })
        await stream.close({ signal })

        const verdict = this.running ? this.host.received(peer, answer.subarray(), true) : 'refused'
        this.answered ||= verdict !== 'refused'
        outcome = verdict
      })
    } catch (err) {
      stream?.abort(err as Error)
      this.failed(peer, err)
    }

    this.repeatWhileForming(peer, connection, outcome)
  }

  /**
   * D2: an interval after an exchange, the same exchange again if its
   * answer named peers we did not know (the topic is forming: the peer has
   * likely heard of more since, and gossipsub may not reach us from all of
   * them yet), if it went unanswered (failed, or our gate refused the
   * answer: the peer may answer now), or if our pubsub still knows no
   * subscriber of our topics (nothing published reaches us, and we cannot
   * publish). One repeat is pending at a time, the latest exchange's, but
   * a taught exchange keeps its repeat against later ones that were not,
   * and an unanswered one against later ones answered with nothing new:
   * when we dialled several peers at once, a slow, failing or silent one
   * must not cancel it
   */
  private repeatWhileForming (peer: PeerId, connection: Connection, outcome: ExchangeVerdict): void {
    if (!this.running || this.opened >= C.MAX_EXCHANGES_OPENED || (this.repeatTimer != null && REPEAT_RANK[this.repeatOutcome] > REPEAT_RANK[outcome])) {
      return
    }

    clearTimeout(this.repeatTimer)
    this.repeatOutcome = outcome
    this.repeatTimer = setTimeout(() => {
      this.repeatTimer = undefined
      this.repeatOutcome = 'accepted'

      if (this.running && this.host.joining() && (outcome !== 'accepted' || !this.host.reached()) && connection.status === 'open') {
        void this.open(peer, connection)
      }
    }, this.options.interval)
  }

  /** D3, D4: a peer's announcement; if the gate accepts it, ours with records, within the node-wide budget */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer

    try {
      await this.withDeadline(async signal => {
        const lp = lpStream(stream, { maxDataLength: this.options.maxMessageSize })
        const hello = await lp.read({ signal })

        if (!this.running || this.host.received(peer, hello.subarray(), false) === 'refused') {
          stream.abort(new Error('announcement refused'))
          return
        }

        // charged only for an announcement the gate accepted (so at most
        // the gate's rate per author): a peer sending junk, or nothing,
        // stream after stream, must not spend the answers of joiners
        if (!this.answers.take(Date.now())) {
          this.host.drop('over-budget')
          stream.abort(new Error('no exchange answers left this interval'))
          return
        }

        await lp.write(await this.host.announcement(peer), { signal })
        await stream.close({ signal })
        this.host.exchanged('answered')
      })
    } catch (err) {
      stream.abort(err as Error)
      this.failed(peer, err)
    }
  }

  /**
   * D5: runs an exchange with a signal aborted at its deadline or at stop;
   * one controller per exchange (AbortSignal.any on the long-lived
   * shutdown signal would keep every exchange's signal: nodejs/node#64476)
   */
  private async withDeadline (exchange: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController()
    const shutdown = this.shutdown.signal
    const onShutdown = (): void => { controller.abort(new Error('discovery stopped')) }
    shutdown.addEventListener('abort', onShutdown, { once: true })
    const timer = setTimeout(() => { controller.abort(new Error('exchange timed out')) }, this.options.interval * C.EXCHANGE_TIMEOUT_INTERVALS)

    try {
      if (shutdown.aborted) {
        throw new Error('discovery stopped')
      }

      await exchange(controller.signal)
    } finally {
      clearTimeout(timer)
      shutdown.removeEventListener('abort', onShutdown)
    }
  }

  private failed (peer: PeerId, err: unknown): void {
    if (this.running) {
      this.host.drop('exchange-failed')
      this.log('exchange with %p failed - %e', peer, err)
    }
  }
}
