/**
 * One row per minute of the soak, and the table printed from the rows.
 */

export interface MinuteRow {
  minute: number
  /** Disruptions that started in this minute */
  disruptions: string[]
  ok: number
  retried: number
  lost: number
  explained: number
  unexplained: number
  /** In flight longer than STALL_AFTER at the check */
  stalled: number
  heapMB: number
  arrayBuffersMB: number
  /** Highest array-buffer sample of the minute */
  arrayBuffersPeakMB: number
  handles: number
  fds: number
  /** Connections of all js nodes and of the fault proxy (median of the minute's samples; NaN when not sampled) */
  connections: number
  goProcesses: number
  goLeftBehind: number
  lagP99: number
  lagMax: number
  /**
   * Growth of each resource's median over the baseline; null while warming
   * up. Handles and fds: beyond the sockets of the connections
   * (lib/evaluate.ts). Array buffers: the retained floor of the cycle ending
   * with this minute (lib/memory.ts), null before a whole cycle has passed
   */
  growth: { heap: number, arrayBuffers: number | null, handles: number, fds: number, connections: number } | null
  /** Which checks passed this minute (`peak`: array buffers under the baseline's highest plus what the bounded queues hold) */
  checks: { lost: boolean, stalls: boolean, growth: boolean, peak: boolean, goProcesses: boolean, lag: boolean }
  /** Checks this minute failed, said in words (empty: passed) */
  failed: string[]
}

const pad = (s: string | number, n: number): string => String(s).padEnd(n)
const DISRUPTIONS = 40

/** `blackhole, blackhole, kill go1` -> `blackhole x2, kill go1` */
export function summarize (labels: string[]): string {
  const counts = new Map<string, number>()
  labels.forEach(l => counts.set(l, (counts.get(l) ?? 0) + 1))
  return [...counts].map(([l, n]) => n > 1 ? `${l} x${n}` : l).join(', ') || '-'
}
const pct = (x: number | null): string => x == null ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`

export const HEADER = `${pad('min', 4)}${pad('disruptions', DISRUPTIONS)}${pad('req ok', 8)}${pad('lost (expl.)', 13)}${pad('stalls', 7)}${pad('heap MB', 9)}${pad('abuf MB (max)', 14)}${pad('handles', 8)}${pad('fds', 6)}${pad('conns', 7)}${pad('go', 4)}${pad('lag p99', 9)}${pad('growth heap/abuf/handles/fds/conns', 37)}checks`

export function renderRow (r: MinuteRow): string {
  const growth = r.growth == null ? 'warm-up' : `${pct(r.growth.heap)} ${pct(r.growth.arrayBuffers)} ${pct(r.growth.handles)} ${pct(r.growth.fds)} ${pct(r.growth.connections)}`
  return `${pad(r.minute, 4)}${pad(summarize(r.disruptions), DISRUPTIONS - 1)} ${pad(r.ok, 8)}${pad(`${r.lost} (${r.explained})`, 13)}${pad(r.stalled, 7)}${pad(r.heapMB.toFixed(1), 9)}${pad(`${r.arrayBuffersMB.toFixed(1)} (${r.arrayBuffersPeakMB.toFixed(1)})`, 14)}${pad(r.handles, 8)}${pad(r.fds, 6)}${pad(Number.isNaN(r.connections) ? '-' : r.connections, 7)}${pad(r.goProcesses, 4)}${pad(`${r.lagP99.toFixed(0)} ms`, 9)}${pad(growth, 37)}${r.failed.length === 0 ? 'ok' : `FAILED: ${r.failed.join('; ')}`}`
}

export function renderTable (rows: MinuteRow[]): string {
  return [HEADER, ...rows.map(renderRow)].join('\n')
}
