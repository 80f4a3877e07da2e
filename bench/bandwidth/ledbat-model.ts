/**
 * The congestion controller (`@x/bandwidth`'s LEDBAT, the real class) on a
 * fluid model of the bottleneck bench's link: 1 MB/s, a queue of at most
 * 400 ms, one RTT sample per 100 ms reporting the queue as it was 0, 1 or 2
 * samples earlier (feedback delay), the sender always busy. Prints the
 * queuing delay the controller leaves (p50/p99) and the share of the link
 * it uses, over the first 15 s (the bench's warm-up plus window) and over
 * 2 minutes. A model, not a measurement: it shows how the gains behave,
 * `bottleneck.ts` measures the real thing.
 */
import { Ledbat } from '../../packages/bandwidth/src/ledbat.ts'
import { fmt, percentile, printTable, writeResults } from '../lib/stats.ts'

const LINK = 1_000_000
const QUEUE_LIMIT = 0.4 * LINK
const STEP = 100

function run (feedback: number, seconds: number): { p50: number, p99: number, use: number } {
  const ledbat = new Ledbat({ targetDelay: 25, minRate: 16 * 1024, maxRate: Infinity, initialRate: 256 * 1024 })
  const history: number[] = []
  const delays: number[] = []
  let queue = 0
  let sent = 0
  const steps = seconds * 1000 / STEP

  for (let i = 0; i < steps; i++) {
    const rate = ledbat.rate
    queue = Math.min(QUEUE_LIMIT, Math.max(0, queue + (rate - LINK) * STEP / 1000))
    history.push(1 + queue / LINK * 1000)
    sent += Math.min(rate, LINK) * STEP / 1000

    if (i >= 50) {
      delays.push(queue / LINK * 1000)
    }

    ledbat.sample(history[Math.max(0, history.length - 1 - feedback)], i * STEP, 1)
  }

  return { p50: percentile(delays, 50), p99: percentile(delays, 99), use: sent / (LINK * seconds) }
}

const rows = []

for (const seconds of [15, 120]) {
  for (const feedback of [0, 1, 2]) {
    const r = run(feedback, seconds)
    rows.push({ horizon: `${seconds} s`, 'feedback delay (samples)': feedback, 'queue p50 ms': fmt(r.p50, 1), 'queue p99 ms': fmt(r.p99, 1), 'link use': fmt(r.use, 3) })
  }
}

printTable('LEDBAT on a fluid model of a 1 MB/s link, target 25 ms, 100 ms samples (queue measured after the first 5 s)', rows)
writeResults('bandwidth-ledbat-model', rows)
