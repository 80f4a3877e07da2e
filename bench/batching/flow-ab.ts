/**
 * Two builds of `@x/message-batching` side by side on the same connection:
 * this checkout's and another one's (its `dist/src`, e.g. of the commit
 * before a change to the flow window), each with flow control, on its own
 * protocol id; B (this checkout's code: the acceptor's side) and the
 * `@x/fault-proxy` run in a child process (`receiver-worker.ts`). Per link
 * (loopback, 25 ms each way): ROUNDS (5) interleaved rounds of MESSAGES
 * (100,000) / ROUNDS 100 B messages per build (msg/s, median), then
 * FLOOD_TRIALS (3) interleaved trials of `high` messages (one every 10 ms,
 * 200) while a `low` flood saturates the link (p50 and p99, medians).
 *
 * Run: `OTHER=/path/to/message-batching/dist/src OTHER_LABEL='<what it is>' node bench/batching/flow-ab.ts`
 * For the build before a commit C:
 * `git worktree add /tmp/mb-before C^ && (cd /tmp/mb-before/packages/message-batching && npx tsc -p .)`
 * or copy this package's `dist/src` and replace the changed file with the
 * older source, types stripped. The copy must sit inside this repository
 * (its imports resolve through the repository's node_modules).
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { messageBatching } from '@x/message-batching'
import { createLibp2p } from 'libp2p'
import { median, percentile, printTable, writeResults } from '../lib/stats.ts'
import { forkWorker } from '../lib/worker-rpc.ts'
import type { PeerId } from '@libp2p/interface'
import type { MessageBatching } from '@x/message-batching'

const OTHER = process.env.OTHER
if (OTHER == null) { throw new Error('OTHER=<dist/src of the other build> is required') }
const MESSAGES = Number(process.env.MESSAGES ?? 100_000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const FLOOD_TRIALS = Number(process.env.FLOOD_TRIALS ?? 3)
const OTHER_PROTOCOL = '/x/batch-other/1.0.0'
const other: { messageBatching: typeof messageBatching } = await import(pathToFileURL(join(resolve(OTHER), 'index.js')).href)
const now = (): number => performance.timeOrigin + performance.now()
type Build = 'this' | 'other'

function message (high = false): Uint8Array {
  const data = new Uint8Array(100)
  crypto.getRandomValues(data.subarray(9))
  new DataView(data.buffer).setFloat64(0, now())
  data[8] = high ? 1 : 0
  return data
}

/** Sends n messages (or while `until.on`) with at most 2,000 unresolved, waking at 1,000; resolves with the count once all settled */
async function pump (send: (data: Uint8Array) => Promise<void>, n: number, until?: { on: boolean }): Promise<number> {
  const state: { pending: number, wake?(): void, failure?: Error } = { pending: 0 }
  const settled = (): void => {
    if (--state.pending <= 1000 && state.wake != null) {
      const wake = state.wake
      state.wake = undefined
      wake()
    }
  }
  const failed = (err: Error): void => { state.failure = err }
  const waitForRoom = async (): Promise<void> => new Promise<void>(resolve => { state.wake = resolve })
  let sent = 0
  while (until != null ? until.on : sent < n) {
    state.pending++
    sent++
    send(message()).catch(failed).finally(settled)
    if (state.pending >= 2000) { await waitForRoom() }
  }
  while (state.pending > 0) { await waitForRoom() }
  if (state.failure != null) { throw state.failure }
  return sent
}

const results: Record<string, unknown> = {}

for (const latency of [0, 25]) {
  const label = latency === 0 ? 'loopback' : `${latency} ms each way`
  const worker = forkWorker(join(dirname(fileURLToPath(import.meta.url)), 'receiver-worker.ts'), [OTHER_PROTOCOL])
  const address = await worker.call<string>('address')
  await worker.call('setLatency', latency)
  const peer: PeerId = peerIdFromString(address.split('/p2p/')[1])
  const a: any = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: {
      this: messageBatching({ requestTimeout: 60_000, compression: false }),
      other: other.messageBatching({ requestTimeout: 60_000, compression: false, protocol: OTHER_PROTOCOL })
    }
  })
  await a.dial(multiaddr(address))
  const service = (build: Build): MessageBatching => a.services[build]
  const builds: Build[] = ['this', 'other']

  for (const build of builds) {
    await worker.call('reset', { n: 200 })
    await pump(async data => service(build).send(peer, 'bench', data), 200)
    await worker.call('wait')
  }

  const rates: Record<Build, number[]> = { this: [], other: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const n = Math.round(MESSAGES / ROUNDS)
      await worker.call('reset', { n, keepLows: false })
      const started = performance.now()
      await pump(async data => service(build).send(peer, 'bench', data), n)
      await worker.call('wait')
      rates[build].push(n / ((performance.now() - started) / 1000))
    }
  }

  const floods: Record<Build, { idle: number[], p50: number[], p99: number[], lows: number[], ms: number[] }> = { this: { idle: [], p50: [], p99: [], lows: [], ms: [] }, other: { idle: [], p50: [], p99: [], lows: [], ms: [] } }
  for (let trial = 0; trial < FLOOD_TRIALS; trial++) {
    for (const build of trial % 2 === 0 ? builds : [...builds].reverse()) {
      const s = service(build)
      const idle: number[] = []
      for (let i = 0; i < 50; i++) {
        const t = performance.now()
        await s.request(peer, 'echo', new Uint8Array(100))
        idle.push(performance.now() - t)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      await worker.call('reset', { n: null, keepLows: false })
      const flood = { on: true }
      const floodStart = performance.now()
      const lows = pump(async data => s.send(peer, 'bench', data, { priority: 'low' }), 0, flood)
      await new Promise(resolve => setTimeout(resolve, 300))
      for (let i = 0; i < 200; i++) {
        void s.send(peer, 'bench', message(true), { priority: 'high' })
        await new Promise(resolve => setTimeout(resolve, 10))
      }
      flood.on = false
      // how long the flood ran: the lows written per second, not per trial (a trial's 200 timers last longer on a busier loop)
      const floodMs = performance.now() - floodStart
      const sent = await lows
      const deadline = Date.now() + 30_000
      while (await worker.call<number>('count') < sent + 200 && Date.now() < deadline) { await new Promise(resolve => setTimeout(resolve, 20)) }
      const got = await worker.call<{ highLatencies: number[] }>('take')
      const f = floods[build]
      f.idle.push(median(idle))
      f.p50.push(median(got.highLatencies))
      f.p99.push(percentile(got.highLatencies, 99))
      f.lows.push(sent)
      f.ms.push(floodMs)
    }
  }

  printTable(`${label}: this build vs ${OTHER}, ${ROUNDS} rounds and ${FLOOD_TRIALS} flood trials each, interleaved`, builds.map(build => ({
    build,
    'msg/s (median)': Math.round(median(rates[build])),
    rounds: rates[build].map(r => Math.round(r)).join(' / '),
    'idle RTT ms': median(floods[build].idle),
    'high p50 ms': median(floods[build].p50),
    'high p99 ms': median(floods[build].p99),
    'p99 per trial': floods[build].p99.map(v => v.toFixed(1)).join(' / '),
    'low sent per trial': floods[build].lows.join(' / '),
    'low msg/s during the flood': floods[build].lows.map((n, i) => Math.round(n / floods[build].ms[i] * 1000)).join(' / ')
  })))
  results[label] = { rates, floods }
  await a.stop()
  await worker.call('stop')
  await worker.stop()
}

writeResults('batching-flow-ab', { other: OTHER, otherLabel: process.env.OTHER_LABEL, results })
