/**
 * Turns one minute of recordings into its table row and checks: lost
 * requests explained or not (judged by checks.ts), stalls, resources against
 * the baseline taken right after the warm-up, go processes left behind,
 * event-loop p99 lag.
 */
import { growth, MAX_GROWTH, MAX_LAG_P99, median } from './checks.ts'
import { highest, retainedFloorGrowth, transientPeak } from './memory.ts'
import type { JudgedLoss } from './checks.ts'
import type { MinuteRow } from './report.ts'
import type { ResourceSample } from './resources.ts'

export interface MinuteInput {
  minute: number
  disruptions: string[]
  ok: number
  retried: number
  /** Requests lost in this minute, judged */
  lost: JudgedLoss[]
  /** Sends, requests and echoes in flight for longer than `STALL_AFTER` at the check */
  stalled: number
  /** Resource samples taken in this minute */
  samples: ResourceSample[]
  /** Samples of the baseline window (right after the warm-up); empty while it is not complete */
  baseline: ResourceSample[]
  /** True for minutes that end before the baseline window does */
  warmingUp: boolean
  /**
   * Samples of the disruption cycle that ends with this minute, given once a
   * whole cycle has passed after the baseline window: array buffers' retained
   * floor is judged over it (lib/memory.ts, rule 1)
   */
  cycleWindow?: ResourceSample[]
  /** Bytes array buffers may rise above the baseline's highest sample while queues fill (lib/memory.ts, rule 2); not judged when absent */
  peakAllowance?: number
  lag: { p99: number, max: number }
  goProcesses: number
  goLeftBehind: number
}

const MB = 1024 * 1024
/**
 * Growth is measured against at least this much, so that noise on a small
 * base is not a leak: a few more of a handful of handles, or one in-flight
 * 1 MB buffer on the few MB of array buffers the swarm holds (over 30
 * minutes a leak of 0.1 MB a minute still shows)
 */
const HANDLES_FLOOR = 50
const FDS_FLOOR = 50
const CONNECTIONS_FLOOR = 50

/**
 * Sockets the connections sampled account for: one per connection end (both
 * ends of a connection between two js nodes are in this process) and two
 * more in the fault proxy per proxied connection. The pool tops up to
 * `maxConnectionsPerPeer` after a go peer's restart or a reset, which adds
 * handles and fds that are no leak; handles and fds are judged beyond these
 * sockets, and the connections (the proxy's too) on their own. A relayed connection runs
 * on a stream of another connection: no socket of its own.
 */
function sockets (s: ResourceSample): number {
  const c = s.connections
  return c == null ? 0 : c.byNode.reduce((a, b) => a + b, 0) - (c.relayed ?? 0) + 2 * c.proxied
}

/**
 * Connections of the js nodes and of the fault proxy: every socket
 * `sockets()` takes off handles and fds belongs to one of them, so none can
 * leak unseen (a proxied connection the proxy never let go of holds two)
 */
function connectionsOf (s: ResourceSample): number {
  const c = s.connections
  return c == null ? NaN : c.byNode.reduce((a, b) => a + b, 0) + c.proxied
}

export function evaluateMinute (input: MinuteInput): MinuteRow {
  const failed: string[] = []
  const checks = { lost: true, stalls: true, growth: true, peak: true, goProcesses: true, lag: true }
  const explained = input.lost.filter(l => l.explainedBy != null).length
  const unexplained = input.lost.length - explained
  const pick = (key: 'heapUsed' | 'arrayBuffers' | 'handles' | 'fds') => (s: ResourceSample): number => s[key]
  const samples = input.samples
  let rowGrowth: MinuteRow['growth'] = null

  if (unexplained > 0) {
    checks.lost = false
    failed.push(`${unexplained} lost request(s) not explained by their connection`)
  }

  if (input.stalled > 0) {
    checks.stalls = false
    failed.push(`${input.stalled} send(s)/request(s) stalled`)
  }

  if (!input.warmingUp && input.baseline.length > 0 && samples.length > 0) {
    // handles and fds beyond the connections' sockets, when every sample counted connections
    const counted = [...input.baseline, ...samples].every(s => s.connections != null)
    const beyond = (key: 'handles' | 'fds') => (s: ResourceSample): number => s[key] - (counted ? sockets(s) : 0)
    rowGrowth = {
      heap: growth(input.baseline.map(pick('heapUsed')), samples.map(pick('heapUsed'))),
      // array buffers swing by megabytes with the data in flight, for as long as a
      // disruption lasts: a leak raises the floor of a whole disruption cycle (lib/memory.ts)
      arrayBuffers: input.cycleWindow == null || input.cycleWindow.length === 0 ? null : retainedFloorGrowth(input.baseline.map(pick('arrayBuffers')), input.cycleWindow.map(pick('arrayBuffers'))),
      handles: growth(input.baseline.map(beyond('handles')), samples.map(beyond('handles')), HANDLES_FLOOR),
      fds: growth(input.baseline.map(beyond('fds')), samples.map(beyond('fds')), FDS_FLOOR),
      connections: counted ? growth(input.baseline.map(connectionsOf), samples.map(connectionsOf), CONNECTIONS_FLOOR) : 0
    }

    for (const [name, value] of Object.entries(rowGrowth)) {
      if (value != null && value >= MAX_GROWTH) {
        checks.growth = false
        failed.push(`${name} grew ${(value * 100).toFixed(1)}% (limit ${MAX_GROWTH * 100}%)`)
      }
    }

    if (input.peakAllowance != null) {
      const peak = transientPeak(input.baseline.map(pick('arrayBuffers')), samples.map(pick('arrayBuffers')), input.peakAllowance)

      if (!peak.within) {
        checks.peak = false
        failed.push(`array buffers peaked at ${(peak.peak / MB).toFixed(1)} MB, over ${(highest(input.baseline.map(pick('arrayBuffers'))) / MB).toFixed(1)} MB (the baseline's highest) + ${(input.peakAllowance / MB).toFixed(1)} MB the bounded queues can hold = ${(peak.cap / MB).toFixed(1)} MB`)
      }
    }
  }

  if (input.goLeftBehind > 0) {
    checks.goProcesses = false
    failed.push(`${input.goLeftBehind} go process(es) left behind`)
  }

  if (input.lag.p99 > MAX_LAG_P99) {
    checks.lag = false
    failed.push(`event-loop p99 lag ${input.lag.p99.toFixed(0)} ms (limit ${MAX_LAG_P99} ms)`)
  }

  return {
    minute: input.minute,
    disruptions: input.disruptions,
    ok: input.ok,
    retried: input.retried,
    lost: input.lost.length,
    explained,
    unexplained,
    stalled: input.stalled,
    heapMB: median(samples.map(pick('heapUsed'))) / MB,
    arrayBuffersMB: median(samples.map(pick('arrayBuffers'))) / MB,
    arrayBuffersPeakMB: highest(samples.map(pick('arrayBuffers'))) / MB,
    handles: Math.round(median(samples.map(pick('handles')))),
    fds: Math.round(median(samples.map(pick('fds')))),
    connections: Math.round(median(samples.flatMap(s => s.connections == null ? [] : [connectionsOf(s)]))),
    goProcesses: input.goProcesses,
    goLeftBehind: input.goLeftBehind,
    lagP99: input.lag.p99,
    lagMax: input.lag.max,
    growth: rowGrowth,
    checks,
    failed
  }
}
