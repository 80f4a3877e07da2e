/**
 * The soak's timeline: a warm-up, a quiet baseline window (resources are
 * measured against it), then the same cycle of disruptions over and over
 * until the end. The demo swarm's own fault cycle (latency -> black
 * hole -> recovery on the proxied link) runs all along; on top of it each
 * cycle stops one go peer (SIGSTOP, then SIGCONT), kills another (SIGKILL,
 * then a new process with the same key), saturates every core with busy
 * processes, and resets every connection through the fault proxy.
 */

export type DisruptionKind = 'sigstop' | 'kill' | 'saturate' | 'reset'

export interface ScheduledDisruption {
  /** ms after the start */
  at: number
  kind: DisruptionKind
  /** How long it lasts, ms (0 for a reset) */
  duration: number
  /** Which go peer (sigstop, kill) */
  goPeer?: number
}

export interface Schedule {
  warmup: number
  /** The baseline window runs from `warmup` to here, before the first disruption, ms */
  baselineEnd: number
  cycle: number
  disruptions: ScheduledDisruption[]
}

/** The longest baseline window: a minute, or a third of what is left after the warm-up in short runs */
export const MAX_BASELINE = 60_000
/** The longest cycle; shorter runs fit one cycle after the baseline */
export const MAX_CYCLE = 5 * 60_000
/** The longest warm-up (a quarter of the run for short runs) */
export const MAX_WARMUP = 3 * 60_000
/**
 * The shortest warm-up: array buffers (yamux windows, socket buffers of the
 * bulk transfer) climb for about 45 s after the start before they level off,
 * so a baseline taken earlier makes the ramp look like a leak
 */
export const MIN_WARMUP = 45_000

/**
 * Offsets within a cycle, as fractions of it: each disruption is over (and
 * recovered from) before the next starts. Saturation comes last but one, so a
 * minute without it follows.
 */
const CYCLE: Array<{ kind: DisruptionKind, at: number, duration: number }> = [
  { kind: 'sigstop', at: 0.05, duration: 0.1 },
  { kind: 'kill', at: 0.3, duration: 0.05 },
  { kind: 'reset', at: 0.5, duration: 0 },
  { kind: 'saturate', at: 0.6, duration: 0.15 }
]

export function buildSchedule (durationMs: number, goPeers: number): Schedule {
  if (!Number.isFinite(durationMs) || durationMs < 60_000) {
    throw new RangeError(`a soak lasts at least a minute (got ${durationMs} ms)`)
  }

  const warmup = Math.min(MAX_WARMUP, Math.max(MIN_WARMUP, Math.round(durationMs / 4)))
  // no disruption in the baseline: taken with a go peer stopped, it made the connections after it look grown
  const baselineEnd = warmup + Math.min(MAX_BASELINE, Math.round((durationMs - warmup) / 3))
  const cycle = Math.min(MAX_CYCLE, durationMs - baselineEnd)
  const disruptions: ScheduledDisruption[] = []

  for (let start = baselineEnd, n = 0; start + cycle <= durationMs; start += cycle, n++) {
    for (const step of CYCLE) {
      const d: ScheduledDisruption = { at: start + Math.round(step.at * cycle), kind: step.kind, duration: Math.round(step.duration * cycle) }

      if ((step.kind === 'sigstop' || step.kind === 'kill') && goPeers > 0) {
        // a different go peer each time, and never the same one stopped and killed in a cycle
        d.goPeer = (n + (step.kind === 'kill' ? 1 : 0)) % goPeers
      } else if (step.kind === 'sigstop' || step.kind === 'kill') {
        continue
      }

      disruptions.push(d)
    }
  }

  return { warmup, baselineEnd, cycle, disruptions }
}
