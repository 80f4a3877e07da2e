/**
 * One ping round trip on a new ping stream of the given connection (32
 * random bytes echoed back, libp2p ping spec). Browser-safe: no Node API.
 */
import { TimeoutError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { equals } from 'uint8arrays/equals'
import { PING_LENGTH } from './constants.ts'
import { LoopStalledError, PingMismatchError, PingUnsupportedError } from './errors.ts'
import { probeTimer } from './probe-timer.ts'
import { PROBE_STREAM } from './stream-tap.ts'
import type { LoopLag } from './loop-lag.ts'
import type { Connection, NewStreamOptions, Stream } from '@libp2p/interface'

/**
 * Probes on `connection` itself with `protocol`; resolves with the RTT in
 * ms. `controller` cancels it (the service aborts its probes in flight when
 * it stops); the timeout aborts it with a `TimeoutError` (a
 * `LoopStalledError` when this process was stalled meanwhile, see
 * `probeTimer`). One timer and one
 * fresh signal a probe, both released when it ends.
 *
 * No `maxOutboundStreams` is passed: libp2p takes the limit of a local
 * handler of the protocol first (`@libp2p/ping`: 1), so a lower or higher
 * one given here would only take effect on nodes without a ping service.
 * The service never has two probes in flight on one connection, and a
 * probe ends when its stream is closed on both ends.
 */
export async function pingStream (connection: Connection, protocol: string, timeout: number, controller = new AbortController(), lag?: LoopLag): Promise<number> {
  const signal = controller.signal
  const clearTimer = probeTimer(timeout, how => {
    controller.abort(how === 'stalled' ? new LoopStalledError(`ping unanswered after ${timeout}ms while this process was stalled`) : new TimeoutError(`ping timed out after ${timeout}ms`))
  }, lag)
  const opening = performance.now()
  let stream: Stream

  try {
    const options: NewStreamOptions & Record<symbol, boolean> = {
      signal,
      runOnLimitedConnection: true,
      [PROBE_STREAM]: true
    }
    stream = await connection.newStream(protocol, options)
  } catch (err: any) {
    clearTimer()

    // a peer that does not speak ping still answered the protocol
    // negotiation, which takes one round trip
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

        if (!equals(received.subarray(0, PING_LENGTH), data)) {
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

    // ended only once the remote closed too: the next probe of this
    // connection never finds this stream still counted against the limit
    if (stream.status === 'open' || stream.status === 'closing') {
      await new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) })
    }

    return rtt
  } catch (err: any) {
    const reason = signal.aborted ? signal.reason : err
    stream.abort(reason)
    throw reason
  } finally {
    clearTimer()
    signal.removeEventListener('abort', onAbort)
  }
}

/** 32 random bytes to be echoed; not secret (the remote sends them back), so `Math.random` does */
function randomPayload (): Uint8Array {
  const data = new Uint8Array(PING_LENGTH)

  for (let i = 0; i < PING_LENGTH; i++) {
    data[i] = Math.random() * 256
  }

  return data
}
