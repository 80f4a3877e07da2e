/**
 * A model of `@x/message-batching`'s flow window (src/flow.ts) on a
 * simulated path, in simulated time (no sockets, no event loop): frames of
 * 10.5 KB are written while the window is open, cross `oneWay` ms, queue
 * FIFO at a bottleneck of `rate` bytes/ms (1 % of frames stall it 20 ms),
 * and their ack returns `oneWay` ms later, plus, with `jitter` J, a delay
 * of 0..J ms (3 J for 5 % of them: stalls of the event loop that reads
 * them), never overtaking an earlier ack. Prints the bottleneck's
 * utilisation, the window at the end, the smallest round trip learnt and
 * the queuing delay (p50/p99) of the frames. Seeded: the same numbers
 * every run.
 *
 * With SEEDS=N each row is the median over seeds 1..N (utilisation, its
 * range, and the queuing percentiles) of MS (60,000) simulated ms each;
 * FLOW=<path to another flow.ts> runs that version of the window instead
 * (e.g. `git show C:packages/message-batching/src/flow.ts` saved beside
 * this package's constants.ts and errors.ts), to compare two side by side.
 *
 * Run: `node bench/batching/flow-model.ts` (SEEDS=1 MS=60000 FLOW=)
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FlowWindow as ThisFlowWindow } from '../../packages/message-batching/src/flow.ts'
import { fmt, median, percentile, printTable } from '../lib/stats.ts'

const SEEDS = Number(process.env.SEEDS ?? 1)
const MS = Number(process.env.MS ?? 60_000)
const FlowWindow: typeof ThisFlowWindow = process.env.FLOW == null || process.env.FLOW === ''
  ? ThisFlowWindow
  : (await import(pathToFileURL(resolve(process.env.FLOW)).href)).FlowWindow

const FRAME = 10_500
const STEP = 0.1

interface Outcome { utilisation: number, window: number, minRtt: number, queuing50: number, queuing99: number }

function model (oneWay: number, rate: number, jitter: number, ms: number, seed = 1): Outcome {
  let state = seed
  const random = (): number => { state = (state * 1103515245 + 12345) % 2 ** 31; return state / 2 ** 31 }
  let now = 0
  const flow = new FlowWindow(1 << 20, () => now)
  const acks: number[] = []
  const delays: number[] = []
  let serverFree = 0
  let delivered = 0

  for (; now < ms; now += STEP) {
    while (acks.length > 0 && acks[0] <= now) {
      acks.shift()
      flow.acked(1)
    }
    while (flow.open()) {
      flow.sent(FRAME)
      const arrive = now + oneWay
      const start = Math.max(arrive, serverFree)
      serverFree = start + FRAME / rate + (random() < 0.01 ? 20 : 0)
      delays.push(start - arrive)
      delivered += FRAME
      const late = jitter * random() + (random() < 0.05 ? 3 * jitter : 0)
      acks.push(Math.max(serverFree + oneWay + late, acks.at(-1) ?? 0))
    }
  }

  return {
    utilisation: delivered / (rate * ms) * 100,
    window: flow.window,
    minRtt: flow.minRtt,
    queuing50: percentile(delays, 50),
    queuing99: percentile(delays, 99)
  }
}

/** A row: one seed as it is, or the medians over SEEDS seeds */
function row (oneWay: number, rate: number, jitter: number): Record<string, string | number> {
  const runs = Array.from({ length: SEEDS }, (_, i) => model(oneWay, rate, jitter, MS, i + 1))
  const utilisations = runs.map(r => r.utilisation)
  return {
    'one way ms': oneWay,
    'bottleneck MB/s': rate / 1000,
    'ack jitter ms': jitter,
    utilisation: SEEDS === 1 ? `${fmt(utilisations[0], 1)}%` : `${fmt(median(utilisations), 1)}% (${fmt(Math.min(...utilisations), 1)}-${fmt(Math.max(...utilisations), 1)})`,
    'window KiB (end)': Math.round(median(runs.map(r => r.window)) / 1024),
    'min RTT ms': median(runs.map(r => r.minRtt)),
    'queuing p50 ms': median(runs.map(r => r.queuing50)),
    'queuing p99 ms': median(runs.map(r => r.queuing99))
  }
}

printTable(`Flow window model${process.env.FLOW == null || process.env.FLOW === '' ? '' : ` (${process.env.FLOW})`}, ${MS / 1000} s simulated per row${SEEDS > 1 ? `, medians of ${SEEDS} seeds` : ''}`, [
  row(0.2, 4000, 0),
  row(0.5, 8000, 0),
  row(0.5, 8000, 5),
  row(25, 4500, 0),
  row(25, 4500, 5),
  row(25, 4500, 10),
  row(25, 4500, 20),
  row(25, 1000, 0)
])
