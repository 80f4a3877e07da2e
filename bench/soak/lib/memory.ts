/**
 * How the soak tells a memory leak from data in flight (decided from the
 * schedule and the queues that can fill, before the run that uses it).
 *
 * Array buffers hold every byte in flight: socket reads, noise frames,
 * yamux windows, the batcher's queues, the fault proxy's delay queue. A
 * disruption (a go peer stopped or killed, a black hole, both cores
 * saturated) leaves data queued wherever the other side stopped reading,
 * for as long as it lasts, and the soak's disruptions cover a third of
 * each cycle. A per-minute figure therefore reads a transient as growth.
 * Three rules instead:
 *
 * 1. Retained floor. The lowest sample over a trailing window of one full
 * disruption cycle (`Schedule.cycle`: every kind of disruption and the
 * quiet stretches between them, whatever minute the window ends in),
 * against the lowest sample of the baseline window (after the warm-up,
 * before the first disruption; it spans one whole fault cycle of the
 * demo link, 4 x 12 s). Both are taken where nothing is stalled, so a
 * backlog does not raise them and a leak raises every sample, the
 * lowest too. Growth must stay under 10 % of the baseline floor, or of
 * `ARRAY_BUFFERS_FLOOR` when that is larger: at the few MB the swarm
 * holds, 10 % is less than one proxy queue (1 MiB) or a few yamux
 * windows (256 KiB) that happen to be in flight at the lowest sample;
 * the allowance is 1.6 MB, so a leak of 64 KB a minute fails a
 * 30-minute run. Judged once a full cycle has passed after the baseline.
 * 2. Transient peak. Every sample stays under the baseline's highest
 * sample plus what the bounded queues can hold (`peakAllowance`): the
 * fault proxy's delay queue of each proxied connection, both ways
 * (`MAX_QUEUED_BYTES` plus one socket read); the bulk transfer, the only
 * traffic that writes more than a few bytes, capped at `BULK_RATE` by
 * the bandwidth manager, so a stall of T ms holds at most BULK_RATE x T
 * bytes, counted 3 times (the sender's plaintext and ciphertext, the
 * receiver's unread copy); the soak's small items, at most `MAX_PENDING`
 * per node, 1 KiB each with their frames. T is the longest the bulk's own
 * path stalls (`bulkStall`): the black-hole phase of the demo link's fault
 * cycle. A go peer stopped or killed is not on that path and busy cores
 * slow both of its ends and the proxy alike, so the schedule's longer
 * disruptions (45 s) do not count. What this catches: bytes held beyond
 * those caps (the proxy or the workload over its cap, a queue that nothing
 * bounds filled by the small items or by libp2p). It cannot tell a bulk
 * queue that ignores backpressure from one that does not: over the black
 * hole both hold at most BULK_RATE x T, which is the bulk term; the rate
 * cap and yamux's window bound the bulk, not this rule. libp2p's own small
 * messages (identify, gossipsub, pings) are in the baseline's highest
 * sample.
 * 3. Drain. At the end the load, the faults and the busy processes stop,
 * what is in flight settles, then samples (after a full gc) must come
 * back within 10 % of the baseline: array buffers to its floor (with
 * the same `ARRAY_BUFFERS_FLOOR`), the heap to its median. The wait is
 * bounded by `DRAIN_WAIT`: the longest a write is held before its stream
 * is reset is the batcher's `writeTimeout` (30 s).
 *
 * The heap is sampled after a full gc (`--expose-gc`, which `npm run bench`
 * and the 2-minute spec pass; `soak.json` says `gcExposed`), so garbage is
 * not growth; it is judged by the median of each minute against the
 * baseline's (lib/evaluate.ts) and by the drain.
 */
import type { ResourceSample } from './resources.ts'
import type { DisruptionKind, ScheduledDisruption } from './schedule.ts'

const MB = 1024 * 1024
/** Growth of array buffers is measured against at least this much (see rule 1) */
export const ARRAY_BUFFERS_FLOOR = 16 * MB
/** Largest growth that still counts as flat (the 10 %) */
export const MAX_DRAIN_GROWTH = 0.10
/** What the fault proxy holds per direction of a proxied connection before it stops reading (`@x/fault-proxy` link.ts `MAX_QUEUED_BYTES`) */
export const PROXY_QUEUE_BYTES = 1024 * 1024
/** One socket read, which the proxy takes before it pauses (libuv reads 64 KiB at a time) */
export const SOCKET_READ_BYTES = 64 * 1024
/** Copies of a bulk byte stalled in this process: sender's plaintext, its ciphertext, the receiver's unread bytes */
export const BULK_COPIES = 3
/** A soak item in flight (echo request, batched message or request), with its stream, frame and encryption */
export const ITEM_BYTES = 1024
/** How long the drain may take: the batcher's `writeTimeout` (30 s) and 15 s for a loaded machine */
export const DRAIN_WAIT = 45_000
/** Between drain samples */
export const DRAIN_POLL = 1_000

/**
 * Whether a disruption of each kind holds the bulk transfer's bytes for as
 * long as it lasts (rule 2). The bulk runs between two js nodes of this
 * process through the fault proxy: a go peer stopped or killed is not on
 * its path; a reset ends its stream (and frees what it held); busy
 * processes slow its sender, the proxy and its receiver alike, all on this
 * one event loop, and the rate cap is per second of the wall clock. Only
 * the demo link's black hole holds it.
 */
export const STALLS_BULK: Record<DisruptionKind, boolean> = {
  sigstop: false,
  kill: false,
  reset: false,
  saturate: false
}

/** The longest the bulk transfer stalls, ms: a phase of the demo link's fault cycle (its black hole), or a disruption that stalls it (none of the schedule's) */
export function bulkStall (disruptions: ScheduledDisruption[], faultPhase: number): number {
  return Math.max(faultPhase, ...disruptions.filter(d => STALLS_BULK[d.kind]).map(d => d.duration))
}

export interface PeakAllowanceInit {
  /** Most connections through the fault proxy at once */
  proxied: number
  /** The bulk class's rate cap, bytes/s */
  bulkRate: number
  /** The longest stall of the bulk transfer, ms (`bulkStall`: the demo link's black-hole phase) */
  longestStall: number
  nodes: number
  /** Items in flight per node at most */
  maxPending: number
}

/** Bytes the bounded queues can hold above the quiet level (rule 2) */
export function peakAllowance (init: PeakAllowanceInit): number {
  const proxy = 2 * init.proxied * (PROXY_QUEUE_BYTES + SOCKET_READ_BYTES)
  const bulk = BULK_COPIES * init.bulkRate * init.longestStall / 1000
  const items = init.nodes * init.maxPending * ITEM_BYTES
  return proxy + bulk + items
}

export function lowest (values: number[]): number {
  return values.length === 0 ? NaN : Math.min(...values)
}

export function highest (values: number[]): number {
  return values.length === 0 ? NaN : Math.max(...values)
}

/** Growth of the retained floor (rule 1): lowest of the cycle window over lowest of the baseline, against at least `ARRAY_BUFFERS_FLOOR` */
export function retainedFloorGrowth (baseline: number[], window: number[]): number {
  const base = lowest(baseline)
  return (lowest(window) - base) / Math.max(base, ARRAY_BUFFERS_FLOOR)
}

/** Rule 2: the highest sample of `samples` and whether it stays within the baseline's highest plus `allowance` */
export function transientPeak (baseline: number[], samples: number[], allowance: number): { peak: number, cap: number, within: boolean } {
  const peak = highest(samples)
  const cap = highest(baseline) + allowance
  return { peak, cap, within: !(peak > cap) }
}

export interface DrainResult {
  /** Growth of array buffers over the baseline floor (against at least `ARRAY_BUFFERS_FLOOR`) at the drain's last sample */
  arrayBuffers: number
  /** Growth of the heap over the baseline median */
  heap: number
  /**
   * ms from the stop of the faults and busy processes to the sample judged;
   * the load stopped before that, by the settle of what was in flight and
   * the last minute's `DEATH_GRACE` (at least 10 s)
   */
  waited: number
  passed: boolean
  failed: string[]
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Rule 3, on one sample taken after the load stopped */
export function judgeDrain (baseline: ResourceSample[], drained: ResourceSample, waited: number): DrainResult {
  const floor = lowest(baseline.map(s => s.arrayBuffers))
  const heapBase = median(baseline.map(s => s.heapUsed))
  const arrayBuffers = (drained.arrayBuffers - floor) / Math.max(floor, ARRAY_BUFFERS_FLOOR)
  const heap = (drained.heapUsed - heapBase) / heapBase
  const failed: string[] = []

  if (baseline.length === 0) {
    failed.push('no baseline to drain back to')
  }

  if (!(arrayBuffers < MAX_DRAIN_GROWTH)) {
    failed.push(`array buffers did not drain: ${(drained.arrayBuffers / MB).toFixed(1)} MB after ${(waited / 1000).toFixed(0)} s, ${(arrayBuffers * 100).toFixed(1)}% over the baseline floor (limit ${MAX_DRAIN_GROWTH * 100}%)`)
  }

  if (!(heap < MAX_DRAIN_GROWTH)) {
    failed.push(`heap did not drain: ${(drained.heapUsed / MB).toFixed(1)} MB after ${(waited / 1000).toFixed(0)} s, ${(heap * 100).toFixed(1)}% over the baseline (limit ${MAX_DRAIN_GROWTH * 100}%)`)
  }

  return { arrayBuffers, heap, waited, passed: failed.length === 0, failed }
}

/**
 * Samples until one passes rule 3 or `wait` ms have gone by (the last
 * sample is then the one judged). `sample` runs a full gc first when it can.
 */
export interface AwaitDrainOptions {
  /** How long to wait at most, ms (`DRAIN_WAIT`) */
  wait?: number
  /** Between samples, ms (`DRAIN_POLL`) */
  poll?: number
  now?(): number
  sleep?(ms: number): Promise<void>
}

export async function awaitDrain (baseline: ResourceSample[], sample: () => ResourceSample, opts: AwaitDrainOptions = {}): Promise<DrainResult> {
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? (async (ms: number) => { await new Promise(resolve => setTimeout(resolve, ms)) })
  const start = now()
  const wait = opts.wait ?? DRAIN_WAIT

  for (;;) {
    const result = judgeDrain(baseline, sample(), now() - start)

    if (result.passed || now() - start >= wait) {
      return result
    }

    await sleep(opts.poll ?? DRAIN_POLL)
  }
}

export interface CycleWindowInit {
  minute: number
  /** When the minute ended (a timer may end it a moment before its nominal end) */
  to: number
  startedAt: number
  /** ms of a minute, and of the run */
  interval: number
  duration: number
  /** End of the baseline window and length of a disruption cycle, ms after the start */
  baselineEnd: number
  cycle: number
}

/**
 * The samples of the disruption cycle ending with this minute (rule 1), or
 * undefined while no whole cycle has passed after the baseline: judged by
 * the minute's nominal end, and never reaching into the baseline
 */
export function cycleWindow (samples: ResourceSample[], w: CycleWindowInit): ResourceSample[] | undefined {
  if (Math.min(w.minute * w.interval, w.duration) < w.baselineEnd + w.cycle) {
    return undefined
  }

  const from = Math.max(w.to - w.cycle, w.startedAt + w.baselineEnd)
  return samples.filter(s => s.t >= from && s.t < w.to)
}
