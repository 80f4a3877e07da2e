/**
 * One round trip on the connection's stream muxer: yamux's PING frame on
 * stream 0, answered by the remote's muxer (the yamux spec makes the answer
 * mandatory; go-yamux answers it). No stream, no protocol negotiation, no
 * peer-store write, no handler on the remote, no per-peer stream limit.
 *
 * The muxer is not on libp2p's public `Connection` interface; libp2p's
 * connection keeps it in `conn.muxer` (`@chainsafe/libp2p-yamux`'s
 * `YamuxMuxer` has `ping(): Promise<number>`). `muxerPingOf` finds it by
 * duck typing and returns undefined where it is not there, and the service
 * falls back to a ping stream; a spec fails loudly if a libp2p release moves
 * it, so the fallback never hides the change.
 *
 * Pitfalls, all handled here: `ping()` is never given an abort signal (an
 * aborted ping clears the muxer's bookkeeping, the late answer then throws
 * inside the muxer and libp2p aborts the whole connection), so the timeout
 * is our own timer raced against it; one ping is in flight per muxer and
 * concurrent callers (the muxer's keepalive too) share it: a probe that
 * joined a ping already in flight would read low by that ping's age, so it
 * waits for that ping's answer first (within its own timeout) and then
 * sends its own; the muxer times with `Date.now()`, the probe with
 * `performance.now()`.
 */
import { TimeoutError } from '@libp2p/interface'
import { LoopStalledError } from './errors.ts'
import { probeTimer } from './probe-timer.ts'
import type { LoopLag } from './loop-lag.ts'
import type { Connection } from '@libp2p/interface'

export type MuxerPing = () => Promise<number>

interface PingingMuxer {
  ping(options?: unknown): Promise<number>
  /** yamux's ping in flight, if any */
  activePing?: { promise: Promise<number> }
}

const ignore = (): void => {}

/** The connection's muxer ping, or undefined when its muxer has none (mplex, QUIC, WebRTC) */
export function muxerPingOf (connection: Connection): PingingMuxer | undefined {
  const muxer = (connection as unknown as { muxer?: Partial<PingingMuxer> }).muxer

  if (muxer == null || typeof muxer.ping !== 'function') {
    return undefined
  }

  return muxer as PingingMuxer
}

/**
 * Sends a PING frame (or joins the one in flight) and resolves with the RTT
 * in ms; rejects with a `TimeoutError` after `timeout` (a `LoopStalledError`
 * when this process was stalled meanwhile, see `probeTimer`), or with
 * `signal`'s reason when it aborts. The muxer's own promise is left to settle by
 * itself.
 */
export async function pingMuxer (muxer: PingingMuxer, timeout: number, signal: AbortSignal, lag?: LoopLag): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>()
  const onAbort = (): void => { reject(signal.reason) }
  const clearTimer = probeTimer(timeout, how => {
    reject(how === 'stalled' ? new LoopStalledError(`muxer ping unanswered after ${timeout}ms while this process was stalled`) : new TimeoutError(`muxer ping timed out after ${timeout}ms`))
  }, lag)
  signal.addEventListener('abort', onAbort, { once: true })

  try {
    const inFlight = muxer.activePing?.promise

    if (inFlight != null) {
      // someone else's ping (the keepalive): its answer proves nothing about our timing
      inFlight.catch(ignore)
      await Promise.race([inFlight, promise])

      // the muxer forgets its answered ping a few microtasks later: a ping
      // sent before that would join the answered one and read 0 ms
      while (muxer.activePing?.promise === inFlight) {
        await Promise.race([new Promise(resolve => setTimeout(resolve, 0)), promise])
      }
    }

    const sent = performance.now()
    const answer = muxer.ping()
    answer.catch(ignore)
    answer.then(() => { resolve(performance.now() - sent) }, reject)
    return await promise
  } finally {
    clearTimer()
    signal.removeEventListener('abort', onAbort)
  }
}
