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
 * Run: `node bench/batching/flow-model.ts`
 */
import { FlowWindow } from '../../packages/message-batching/src/flow.ts'
import { fmt, percentile, printTable } from '../lib/stats.ts'

const FRAME = 10_500
const STEP = 0.1

function model (oneWay: number, rate: number, jitter: number, ms: number, seed = 1): Record<string, string | number> {
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
    'one way ms': oneWay,
    'bottleneck MB/s': rate / 1000,
    'ack jitter ms': jitter,
    utilisation: `${fmt(delivered / (rate * ms) * 100, 1)}%`,
    'window KiB (end)': Math.round(flow.window / 1024),
    'min RTT ms': flow.minRtt,
    'queuing p50 ms': percentile(delays, 50),
    'queuing p99 ms': percentile(delays, 99)
  }
}

printTable('Flow window model, 60 s simulated per row', [
  model(0.2, 4000, 0, 60_000),
  model(0.5, 8000, 0, 60_000),
  model(0.5, 8000, 5, 60_000),
  model(25, 4500, 0, 60_000),
  model(25, 4500, 20, 60_000),
  model(25, 1000, 0, 60_000)
])
