/**
 * How swarm.ts reads "full discovery" (and the late joiner's time) from the
 * workers' records rather than from the moment a poll saw it: each worker
 * keeps, per node, when it first learned each peer it was asked about
 * (its `peer:update`), on a clock comparable across the worker processes
 * (`performance.timeOrigin + performance.now()`, ms since the Unix epoch),
 * and the time is the latest of those first-learned times minus a start
 * taken on the same clock.
 */

/** What one worker reports of one node: how many asked-about peers it still misses, and when it learned the last of the others */
export interface NodeLearning {
  index: number
  /** peers it was asked about and does not know */
  missing: number
  /** the latest first-learned time of the peers it knows (epoch ms); NaN when it knows none */
  latest: number
}

/** The clock shared by the coordinator and the workers: ms since the Unix epoch, sub-ms resolution */
export function epochNow (): number {
  return performance.timeOrigin + performance.now()
}

/**
 * When the last of these nodes learned the last peer it was asked about,
 * as ms since `start`: NaN when any node still misses a peer (never
 * reached), or when no node reported. A node whose last peer was learned
 * before `start` counts as 0, never less.
 */
export function discoveryTime (start: number, nodes: NodeLearning[]): number {
  if (nodes.length === 0 || nodes.some(n => n.missing > 0 || Number.isNaN(n.latest))) {
    return NaN
  }
  return Math.max(0, Math.max(...nodes.map(n => n.latest)) - start)
}
