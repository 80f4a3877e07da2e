/**
 * One ping round trip on one given connection (`/ipfs/ping/1.0.0`: 32
 * random bytes echoed back), and a queue that bounds how many run at once.
 */
import { TimeoutError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { PING_LENGTH, PING_PROTOCOL } from './constants.ts'
import { PingMismatchError, PingUnsupportedError } from './errors.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** Probe on `connection` itself; resolves with the RTT in ms */
export async function pingConnection (connection: Connection, timeout: number, signal?: AbortSignal): Promise<number> {
  const abort = AbortSignal.any([AbortSignal.timeout(timeout), ...(signal != null ? [signal] : [])])
  const opening = performance.now()
  let stream: Stream

  try {
    stream = await connection.newStream(PING_PROTOCOL, {
      signal: abort,
      runOnLimitedConnection: true,
      maxOutboundStreams: 2
    })
  } catch (err: any) {
    // a peer that does not speak ping still answered the protocol
    // negotiation, which takes one round trip: it is alive
    if (err?.name === 'UnsupportedProtocolError') {
      throw new PingUnsupportedError(performance.now() - opening, { cause: err })
    }

    throw err
  }

  try {
    const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
    const received = new Uint8ArrayList()
    const started = performance.now()
    const echoed = new Promise<number>((resolve, reject) => {
      const onAbort = (): void => { reject(new TimeoutError(`ping timed out after ${timeout}ms`)) }
      abort.addEventListener('abort', onAbort, { once: true })
      stream.addEventListener('message', (evt) => {
        received.append(evt.data)

        if (received.byteLength >= PING_LENGTH) {
          abort.removeEventListener('abort', onAbort)
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
    })

    stream.send(data)
    const rtt = await echoed
    await stream.close({ signal: abort }).catch(() => { stream.abort(new Error('close failed')) })
    return rtt
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/** Runs at most `limit` tasks at once, in order */
export class ProbeQueue {
  private readonly limit: number
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (limit: number) {
    this.limit = limit
  }

  get active (): number {
    return this.running
  }

  async run <T> (task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>(resolve => this.waiting.push(resolve))
    }

    this.running++

    try {
      return await task()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }
}
