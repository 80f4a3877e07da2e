/**
 * The opener's window on a flow-controlled stream (PROTOCOL.md, Flow
 * control): bytes written but not yet acknowledged by the acceptor, which
 * acknowledges a frame once it has handed its records to the handlers.
 *
 * Without it every buffer below the batcher (the stream, the muxer, the
 * sockets, a proxy, the remote's unread input) fills under load, and a
 * `high` message waits behind all of it. With it the batcher stops writing
 * once the window is full, so queued messages stay in its priority queues
 * and the order is decided when room opens. `high` messages do not wait
 * for room: a frame of them alone may use FLOW_HIGH_HEADROOM above the
 * window, or, when the window shrank below the bytes in flight, as long as
 * fewer than FLOW_HIGH_HEADROOM bytes of such frames are unacknowledged.
 *
 * The window adapts to the path, delay-based (like TCP Vegas or LEDBAT):
 * each acknowledgement gives a round-trip sample; while samples stay
 * within half the smallest recent one (at least FLOW_MIN_QUEUE_DELAY) of
 * it, the window grows: by the bytes acknowledged (doubling per round
 * trip) until the first queue, then by about FLOW_MIN_WINDOW per round
 * trip; above that it shrinks by a fifth, at most once per round trip. It
 * stays between FLOW_MIN_WINDOW and `flowControl.maxUnackedBytes`, and
 * never below FLOW_BDP_GAIN times the measured bandwidth-delay product (the
 * highest delivery rate of the last FLOW_RATE_ROUNDS round trips times the
 * smallest round trip, as BBR; a rate sample spans at least the time the
 * frames it counts took to write, so frames written in one long turn of the
 * event loop and acknowledged together do not read as a fast path): a late
 * ack (an event loop that stalls)
 * raises a round-trip sample but never a delivery rate, so the floor
 * limits what late acks cost the throughput (bench/batching/flow-model.ts
 * measures how much is left), while a queue of our own
 * stays under a quarter of the smallest round trip. The
 * smallest round trip is measured again every FLOW_MIN_RTT_WINDOW with the
 * window at its floor for two round trips (as BBR's ProbeRTT), so a queue
 * of our own never becomes the baseline.
 *
 * Round trips that grow with the window are not always a queue: when one
 * CPU runs the work of both ends (or the receiver handles a window's frames
 * in one burst), a larger window takes longer per round trip and still
 * delivers more. The delay rule then shrinks the window, the delivery rate
 * falls with it, and the bandwidth-delay floor follows it down. So, after
 * FLOW_PROBE_ROUNDS round trips in a row with the window full while the
 * sender had more to write, the window probes: FLOW_PROBE_GAIN larger for a
 * round trip, the delay rule suspended. When the round after delivers at a
 * rate at least FLOW_PROBE_ELASTICITY of the window's growth higher, the
 * window was the bottleneck: it is kept, the delay rule does not shrink the
 * window below it for FLOW_RATE_ROUNDS round trips, and the next
 * probe follows at once (growth like slow start while it pays); otherwise
 * the window goes back to where it was, since the larger one only queued.
 *
 * Bytes in flight beyond the bandwidth-delay product are a queue that a
 * `high` message written now waits behind. So for FLOW_HIGH_HOLD_RTTS
 * smallest round trips after a frame with a `high` message, frames without
 * one fill only FLOW_HIGH_HOLD_GAIN measured bandwidth-delay products (the
 * highest recent delivery rate times the smallest round trip; above one so
 * that late acks do not ratchet it down): throughput may drop while `high`
 * messages flow, their wait does. The window does not grow while
 * the hold applies (its short round trips are the hold's doing), so when
 * `high` messages pause the sender does not burst a window grown meanwhile.
 */
import { FLOW_BDP_GAIN, FLOW_DECREASE, FLOW_RATE_ROUNDS, FLOW_HIGH_HEADROOM, FLOW_INITIAL_WINDOW, FLOW_MAX_UNACKED_FRAMES, FLOW_MIN_QUEUE_DELAY, FLOW_MIN_RTT_WINDOW, FLOW_MIN_WINDOW, FLOW_PROBE_ELASTICITY, FLOW_PROBE_GAIN, FLOW_PROBE_ROUNDS, FLOW_HIGH_HOLD_RTTS, FLOW_HIGH_HOLD_GAIN } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'

interface SentFrame {
  bytes: number
  at: number
  /** A frame of `high` messages alone */
  highOnly: boolean
  /** Bytes acknowledged in all when it was written */
  delivered: number
  /** When the frame acknowledged last before it was written had been written */
  firstSentAt: number
}

export class FlowWindow {
  /** Bytes the opener may have unacknowledged now */
  window: number
  /** Bytes written and not acknowledged */
  unacked = 0
  /** Of those, bytes of frames of `high` messages alone (at most about FLOW_HIGH_HEADROOM beyond the window) */
  private unackedHigh = 0
  /** The smallest recent round trip, ms */
  minRtt = Infinity
  private minRttAt = 0
  private lastDecrease = -Infinity
  private slowStart = true
  /** Set while re-measuring minRtt with the window at its floor, and the window to restore after */
  private probeUntil?: number
  private probeMin = Infinity
  private probeWindow = 0
  private readonly max: number
  private readonly min: number
  private readonly now: () => number
  private frames: SentFrame[] = []
  private head = 0
  /** Bytes acknowledged in all */
  private delivered = 0
  /** When the frame acknowledged last was written (or, with nothing in flight, the next one) */
  private firstSentAt = 0
  /** The highest delivery rate of the last FLOW_RATE_ROUNDS round trips, bytes/ms, and when it was sampled */
  maxRate = 0
  private maxRateAt = 0
  /** The current round trip: when it began, bytes acknowledged then, and whether the window was full with more to send */
  private roundStart = 0
  private roundDelivered = 0
  private roundLimited = false
  /** Round trips in a row that ended with the window full while the sender had more */
  private limitedRounds = 0
  /** The delivery rate of the round trip before the last */
  private previousRate = 0
  /** Set while the window is raised to probe: the window and delivery rate before, and the rounds left before it is judged */
  private windowProbe?: { window: number, rate: number, rounds: number }
  /** When the last frame with a `high` message was written */
  private lastHighAt?: number
  /** The last window a probe showed delivering more than the one before: a floor for FLOW_RATE_ROUNDS round trips */
  private proven = 0
  private provenRounds = 0

  constructor (maxUnackedBytes: number, now: () => number) {
    this.max = maxUnackedBytes
    this.min = Math.min(FLOW_MIN_WINDOW, maxUnackedBytes)
    this.window = Math.min(FLOW_INITIAL_WINDOW, maxUnackedBytes)
    this.now = now
  }

  /**
   * Whether another frame may be written (one frame may cross the window);
   * a frame of `high` messages alone may also use FLOW_HIGH_HEADROOM above
   * it, or, when the window shrank below the bytes in flight, as long as
   * fewer than FLOW_HIGH_HEADROOM bytes of such frames are unacknowledged
   */
  open (highOnly = false): boolean {
    const room = highOnly
      ? this.unacked < this.window + FLOW_HIGH_HEADROOM || this.unackedHigh < FLOW_HIGH_HEADROOM
      : this.unacked < this.limit()
    const open = room && this.frames.length - this.head < FLOW_MAX_UNACKED_FRAMES

    if (!open && !highOnly && this.unacked >= this.window) {
      // asked with something to write: the window (not the hold for high messages) limits the sender this round trip
      this.roundLimited = true
    }

    return open
  }

  /** A frame carrying a `high` message was written: for a while the window holds less (see FLOW_HIGH_HOLD_RTTS) */
  highSent (): void {
    this.lastHighAt = this.now()
  }

  /**
   * While `high` messages flow, what frames without one may fill:
   * FLOW_HIGH_HOLD_GAIN measured bandwidth-delay products (the path stays
   * full, a `high` message waits behind little queue of ours), never more
   * than the window
   */
  private limit (): number {
    if (!this.holding()) {
      return this.window
    }

    return Math.min(this.window, Math.max(this.min, Math.floor(FLOW_HIGH_HOLD_GAIN * this.maxRate * this.minRtt)))
  }

  /** Whether frames without a `high` message are held at one bandwidth-delay product now */
  private holding (): boolean {
    return this.lastHighAt != null && Number.isFinite(this.minRtt) && this.maxRate > 0 && this.now() - this.lastHighAt <= FLOW_HIGH_HOLD_RTTS * Math.max(this.minRtt, 1)
  }

  /** A frame of `bytes` was written; `highOnly`: it carries `high` messages alone */
  sent (bytes: number, highOnly = false): void {
    const now = this.now()

    if (this.frames.length === this.head) {
      // nothing in flight: the send interval starts now (the sender was idle since the last frame)
      this.firstSentAt = now
    }

    this.frames.push({ bytes, at: now, delivered: this.delivered, firstSentAt: this.firstSentAt, highOnly })
    this.unacked += bytes

    if (highOnly) {
      this.unackedHigh += bytes
    }
  }

  /** The acceptor acknowledged the `count` oldest unacknowledged frames */
  acked (count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > this.frames.length - this.head) {
      throw new ProtocolViolationError(`${count} frames acknowledged, ${this.frames.length - this.head} unacknowledged`)
    }

    let bytes = 0
    let last = this.frames[this.head]

    for (let i = 0; i < count; i++) {
      last = this.frames[this.head++]
      bytes += last.bytes

      if (last.highOnly) {
        this.unackedHigh -= last.bytes
      }
    }

    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head)
      this.head = 0
    }

    this.unacked -= bytes
    this.delivered += bytes
    this.rate(last)
    this.firstSentAt = last.at
    this.sample(this.now() - last.at, bytes)

    // a round trip ends once a frame written after it began is acknowledged
    if (last.at >= this.roundStart) {
      this.roundEnded()
    }
    // never below the path's bandwidth-delay product (measured), so late acks cannot cap the throughput
    this.window = Math.max(this.window, this.floor())
  }

  /** Counts window-limited round trips, starts probes and judges them */
  private roundEnded (): void {
    const now = this.now()
    const elapsed = now - this.roundStart
    const rate = elapsed > 0 ? (this.delivered - this.roundDelivered) / elapsed : 0
    const limited = this.roundLimited
    const previousRate = this.previousRate
    this.previousRate = rate

    if (this.provenRounds > 0 && --this.provenRounds === 0) {
      this.proven = 0
    }

    this.roundStart = now
    this.roundDelivered = this.delivered
    this.roundLimited = false

    if (this.slowStart || this.probeUntil != null) {
      this.limitedRounds = 0
      return
    }

    const probe = this.windowProbe

    if (probe != null) {
      // the first round after the raise mostly acknowledges frames written before it: the next one is judged
      if (--probe.rounds > 0) {
        return
      }

      const windowGain = this.window / probe.window - 1

      if (limited && rate >= probe.rate * (1 + FLOW_PROBE_ELASTICITY * windowGain)) {
        // the larger window delivered more: it is kept (the delay rule does not take it back for a while), and the next probe follows
        this.proven = this.window
        this.provenRounds = FLOW_RATE_ROUNDS
        this.startProbe(rate)
      } else {
        // it only queued: back to where it was
        this.window = Math.max(this.floor(), Math.min(this.window, probe.window))
        this.windowProbe = undefined
        this.limitedRounds = 0
      }
      return
    }

    this.limitedRounds = limited ? this.limitedRounds + 1 : 0

    if (this.limitedRounds >= FLOW_PROBE_ROUNDS) {
      // judged against the better of the last two round trips: noise in one of them alone does not pass
      this.startProbe(Math.max(rate, previousRate))
    }
  }

  private startProbe (rate: number): void {
    this.windowProbe = { window: this.window, rate, rounds: 2 }
    this.window = Math.min(this.max, Math.floor(this.window * FLOW_PROBE_GAIN))
    this.limitedRounds = 0

    if (this.window === this.windowProbe.window) {
      // at the maximum already
      this.windowProbe = undefined
    }
  }

  /**
   * A delivery-rate sample at the ACK of `frame`: the bytes acknowledged
   * since it was written, over the longer of its round trip and the time
   * the sender took to write the frames acknowledged with it (from the
   * write of the frame acknowledged last before it; BBR's send interval).
   * Late acks lower it, never raise it; nor does a burst of frames written
   * in one long turn of the event loop and acknowledged together (over the
   * last one's round trip alone, 16 frames in 2 ms read as 80 KB/ms where
   * the path gave 8)
   */
  private rate (frame: SentFrame): void {
    const now = this.now()
    const elapsed = Math.max(now - frame.at, frame.at - frame.firstSentAt)

    if (elapsed <= 0) {
      return
    }

    const rate = (this.delivered - frame.delivered) / elapsed

    if (rate >= this.maxRate || now - this.maxRateAt > FLOW_RATE_ROUNDS * Math.max(this.minRtt, 1)) {
      this.maxRate = rate
      this.maxRateAt = now
    }
  }

  /** FLOW_BDP_GAIN times the highest recent delivery rate times the smallest round trip, within the bounds */
  private floor (): number {
    if (this.probeUntil != null || !Number.isFinite(this.minRtt)) {
      return this.min
    }

    return Math.min(this.max, Math.max(this.min, this.proven, Math.floor(FLOW_BDP_GAIN * this.maxRate * this.minRtt)))
  }

  private sample (rtt: number, bytes: number): void {
    const now = this.now()

    if (this.probeUntil != null) {
      this.probe(rtt, now)
      return
    }

    if (rtt <= this.minRtt) {
      this.minRtt = rtt
      this.minRttAt = now
    } else if (now - this.minRttAt > FLOW_MIN_RTT_WINDOW) {
      // the smallest round trip is old: measure it again with the queue drained (a sample taken under
      // our own queue would raise it, and with it the queue we accept, round after round)
      this.probeUntil = now + 2 * rtt
      this.probeMin = rtt
      // a window probe under way is dropped: restored is the window before it
      this.probeWindow = this.windowProbe?.window ?? this.window
      this.windowProbe = undefined
      this.window = this.min
      return
    }

    if (this.windowProbe != null) {
      // probing: round trips grow with the window by design, the probe's verdict decides
      return
    }

    // the queuing delay accepted: half the smallest round trip, at least FLOW_MIN_QUEUE_DELAY
    const target = Math.max(this.minRtt / 2, FLOW_MIN_QUEUE_DELAY)

    if (rtt - this.minRtt <= target) {
      if (this.limit() < this.window) {
        // the hold, not the window, limits the sender: round trips stay short because of it, so they do not show
        // that a larger window would not queue (grown here, the window went out whole once the hold ended)
        return
      }

      // doubling per round trip until the first queue, then about FLOW_MIN_WINDOW more per round trip
      const growth = this.slowStart ? bytes : bytes * Math.min(1, this.min / this.window)
      this.window = Math.min(this.max, Math.floor(this.window + growth))
    } else if (now - this.lastDecrease >= rtt) {
      // at most once per round trip: the samples of one queue build-up are one signal
      this.window = Math.max(this.floor(), Math.floor(this.window * FLOW_DECREASE))
      this.lastDecrease = now
      this.slowStart = false
    }
  }

  /** While the window is held at its floor for two round trips: the smallest sample is the new minRtt */
  private probe (rtt: number, now: number): void {
    this.probeMin = Math.min(this.probeMin, rtt)

    if (now < (this.probeUntil ?? 0)) {
      return
    }

    this.minRtt = this.probeMin
    this.minRttAt = now
    this.window = this.probeWindow
    this.probeUntil = undefined
  }
}
