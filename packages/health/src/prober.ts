/**
 * One ping round trip on one given connection (`/ipfs/ping/1.0.0`: 32
 * random bytes echoed back), and a queue that bounds how many run at once,
 * in all and per peer.
 */
import { TimeoutError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { PING_LENGTH, PING_PROTOCOL } from './constants.ts'
import { PingMismatchError, PingUnsupportedError } from './errors.ts'
import { PROBE_STREAM } from './stream-tap.ts'
import type { Connection, NewStreamOptions, Stream } from '@libp2p/interface'

/**
 * Probe on `connection` itself; resolves with the RTT in ms. `controller`
 * cancels it (the service aborts its probes in flight when it stops); the
 * timeout aborts it with a `TimeoutError`. One timer and one fresh signal a
 * probe, both released when it ends: nothing outlives the probe.
 */
export async function pingConnection (connection: Connection, timeout: number, controller = new AbortController()): Promise<number> {
  const signal = controller.signal
  const timer = setTimeout(() => { controller.abort(new TimeoutError(`ping timed out after ${timeout}ms`)) }, timeout)
  const opening = performance.now()
  let stream: Stream

  try {
    const options: NewStreamOptions & Record<symbol, boolean> = {
      signal,
      runOnLimitedConnection: true,
      maxOutboundStreams: 2,
      [PROBE_STREAM]: true
    }
    stream = await connection.newStream(PING_PROTOCOL, options)
  } catch (err: any) {
    clearTimeout(timer)

    // a peer that does not speak ping still answered the protocol
    // negotiation, which takes one round trip: it is alive
    if (err?.name === 'UnsupportedProtocolError') {
      throw new PingUnsupportedError(performance.now() - opening, { cause: err })
    }

    throw signal.aborted ? signal.reason : err
  }

  const onAbort = (): void => { stream.abort(signal.reason) }
  signal.addEventListener('abort', onAbort)

  try {
    const data = randomPayload()
    const received = new Uint8ArrayList()
    const { promise, resolve, reject } = Promise.withResolvers<number>()
    const started = performance.now()

    stream.addEventListener('message', (evt) => {
      received.append(evt.data)

      if (received.byteLength >= PING_LENGTH) {
        const rtt = performance.now() - started

        if (Buffer.compare(received.subarray(0, PING_LENGTH), data) !== 0) {
          reject(new PingMismatchError('ping answer differs from what was sent'))
        } else {
          resolve(rtt)
        }
      }
    })
    stream.addEventListener('close', (evt) => {
      if (received.byteLength < PING_LENGTH) {
        reject(evt.error ?? new Error('ping stream closed early'))
      }
    })

    stream.send(data)
    const rtt = await promise
    await stream.close({ signal })
    return rtt
  } catch (err: any) {
    const reason = signal.aborted ? signal.reason : err
    stream.abort(reason)
    throw reason
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * 32 random bytes to be echoed. Not secret (the remote sends them back), so
 * `Math.random` does: `crypto.getRandomValues` was 2 % of a probe's CPU.
 */
function randomPayload (): Uint8Array {
  const data = new Uint8Array(PING_LENGTH)

  for (let i = 0; i < PING_LENGTH; i++) {
    data[i] = Math.random() * 256
  }

  return data
}

/**
 * Runs at most `limit` tasks at once, and one per key (a peer) at a time,
 * in order otherwise. One probe per peer: go-libp2p's resource manager
 * allows a peer only two inbound ping streams (across all its connections)
 * and resets the rest, so probing several connections of one go peer at
 * once fails probes of healthy connections. A task that runs longer than
 * `lease` lets the next task of its key start (a peer that answers within
 * the lease is never probed twice at once; the connections of a dead peer
 * are not probed one timeout after another, which would make a sweep of a
 * peer with three dead connections take three ping timeouts).
 */
export class ProbeQueue {
  private readonly limit: number
  private readonly lease: number
  private running = 0
  /** Keys with a task running within its lease, and the task holding it */
  private readonly busy = new Map<string, object>()
  /** Tasks waiting, per key, in order */
  private readonly waiting = new Map<string, Array<() => void>>()
  /** Keys with waiting tasks and none holding them, in the order they became so, from `readyAt` */
  private ready: string[] = []
  private readyAt = 0

  constructor (limit: number, lease = Infinity) {
    this.limit = limit
    this.lease = lease
  }

  get active (): number {
    return this.running
  }

  async run <T> (key: string, task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit && !this.busy.has(key)) {
      this.running++
    } else {
      // pump() reserves the slot and the key before starting it
      await new Promise<void>(resolve => {
        const queue = this.waiting.get(key)

        if (queue == null) {
          this.waiting.set(key, [resolve])

          if (!this.busy.has(key)) {
            this.ready.push(key)
          }
        } else {
          queue.push(resolve)
        }
      })
    }

    const holder = {}
    this.busy.set(key, holder)
    const lease = Number.isFinite(this.lease) ? setTimeout(() => { this.release(key, holder) }, this.lease) : undefined

    try {
      return await task()
    } finally {
      clearTimeout(lease)
      this.running--
      this.release(key, holder)
    }
  }

  /** Frees `key` if `holder` still holds it, and starts what can start */
  private release (key: string, holder: object): void {
    if (this.busy.get(key) === holder) {
      this.busy.delete(key)

      if (this.waiting.has(key)) {
        this.ready.push(key)
      }
    }

    this.pump()
  }

  /** Starts tasks of ready keys while slots remain */
  private pump (): void {
    while (this.running < this.limit && this.readyAt < this.ready.length) {
      const key = this.ready[this.readyAt++]

      if (this.readyAt === this.ready.length) {
        this.ready = []
        this.readyAt = 0
      } else if (this.readyAt > 1024 && this.readyAt * 2 > this.ready.length) {
        // a queue that never drains still drops the keys it took
        this.ready = this.ready.slice(this.readyAt)
        this.readyAt = 0
      }

      const queue = this.waiting.get(key) as Array<() => void>
      const start = queue.shift() as () => void

      if (queue.length === 0) {
        this.waiting.delete(key)
      }

      this.running++
      // held until the task itself takes the key, as its first step
      this.busy.set(key, this)
      start()
    }
  }
}
