/**
 * 100 B messages from A to B four ways, side by side in one run, on
 * loopback and with 25 ms each way, both through `@x/fault-proxy` (which
 * counts the bytes on the wire: TCP payload, so noise, yamux, multistream
 * and our framing, not TCP/IP headers):
 *
 * 1. `stream/msg`: a new stream per message (plain libp2p), 64 at a time
 * 2. `lp-stream`: one stream, one length-prefixed `stream.send` per message
 * 3. `batching`: `@x/message-batching` `send()`, up to 2,000 unresolved,
 * compression off (the payloads are random: deflate could only cost CPU;
 * the last table measures compression on JSON)
 * 4. `batching, no flow control`: the same with `flowControl: false` (a
 * second instance on its own protocol id, on the same connection): the
 * service as it was before flow control, measured side by side
 *
 * Throughput runs in ROUNDS (5) interleaved rounds, the order rotating;
 * msg/s is the median of a mode's rounds, wire bytes are summed over them.
 * Per mode: messages/s (first send to last receipt at B), wire bytes per
 * message and efficiency (payload / wire bytes), one-way latency p50/p99 at
 * light (100/s), medium (2,000/s) and saturating load (the throughput run).
 * Then `high` priority latency while a `low` flood saturates the link
 * (FLOOD_TRIALS (3) trials per instance, interleaved; medians of the
 * trials' p50 and p99; with the p99 of each event loop's delay meanwhile,
 * a floor under them), and compression on a JSON payload (ratio and CPU).
 *
 * A and the senders run in this process, B in a child process
 * (`receiver-worker.ts`) and the proxy in another (`proxy-worker.ts`): three
 * event loops, as three hosts would have (on a 2-core machine they share
 * two cores: under a flood all three are busy). With PROXY=receiver the
 * proxy runs in B's process, on B's event loop (the setup of the runs of
 * 2026-11-29 07:30-09:30): on loopback B's loop then forwards every chunk
 * of the flood as well as receiving it. With RECEIVER=inline all nodes and
 * the proxy share this process's event loop (the setup of the runs before
 * 2026-11-29): then every turn of the receiver delays the sender, and the
 * round trips the flow window measures are mostly that loop's turns.
 * Results go to bench/results/batching-compare.json
 * (batching-compare-proxy-in-receiver.json, batching-compare-inline.json).
 *
 * The `high` target compares the flood's p99 with the idle RTT (a 100 B
 * request and its 100 B answer on the same instance and connection, A's
 * clock at both ends). Each trial also sends the same 200 `high` messages
 * (100 B, one every 10 ms, one way) with no flood first: the idle p50/p99
 * of exactly what the flood run measures.
 *
 * Which connection the flood trials use (idle RTT, idle highs and the flood
 * alike), FLOOD_PATH:
 * - `direct` (default): on loopback, a second A node in this process dials
 * B's own listener, no proxy in between: two busy processes (A and B) on
 * the 2 cores, as two hosts on a network would be. The proxy is there to
 * count wire bytes, which the flood trials do not use; its process sits
 * idle meanwhile. The 25 ms link always goes through the proxy (its delay
 * is the proxy's timer).
 * - `proxy`: on loopback too, the flood trials use the connection of the
 * throughput rows, through the proxy (the setup of the runs before
 * 2026-11-29 11:00): three busy processes on 2 cores, where the slowest
 * `high` messages wait for a core (see README.md).
 * The throughput, wire-byte, latency and compression rows always go
 * through the proxy. The results record each link's proxy and direct
 * addresses, the flood trials' remote address and the bytes the proxy
 * forwarded A -> B during the flood trials.
 *
 * Run: `node bench/batching/compare.ts` (MESSAGES=100000 PER_STREAM_MESSAGES=20000 ROUNDS=5 FLOOD_TRIALS=3
 * RECEIVER=process PROXY=process FLOOD_PATH=direct LINKS=0,25 RESULTS_FILE=<path instead of bench/results/>)
 */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { messageBatching } from '@x/message-batching'
import { createLibp2p } from 'libp2p'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'
import { forkWorker } from '../lib/worker-rpc.ts'
import { startProxyProcess } from './proxy-worker.ts'
import { handleBaselines, LP, NO_FLOW_PROTOCOL, PER_MSG } from './receiver-worker.ts'
import type { ProxyProcess } from './proxy-worker.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { MessageBatching } from '@x/message-batching'

const MESSAGES = Number(process.env.MESSAGES ?? 100_000)
const PER_STREAM_MESSAGES = Number(process.env.PER_STREAM_MESSAGES ?? 20_000)
const SIZE = 100
const WINDOW_STREAMS = 64
const WINDOW_BATCHING = 2000
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const FLOOD_TRIALS = Number(process.env.FLOOD_TRIALS ?? 3)
/** `process` (default): B runs in a child process, on its own event loop, as a remote peer (the proxy: see PROXY); `inline`: B and the proxy in this one */
const RECEIVER = process.env.RECEIVER ?? 'process'
/** With RECEIVER=process: `process` (default): the proxy runs in a child process of its own; `receiver`: in B's process, on B's event loop */
const PROXY = process.env.PROXY ?? 'process'
/** On loopback, `direct` (default): the flood trials dial B with no proxy in between; `proxy`: through the proxy, as the throughput rows */
const FLOOD_PATH = process.env.FLOOD_PATH ?? 'direct'
if (!['process', 'inline'].includes(RECEIVER) || !['process', 'receiver'].includes(PROXY) || !['direct', 'proxy'].includes(FLOOD_PATH)) {
  throw new Error(`RECEIVER must be process or inline, PROXY process or receiver and FLOOD_PATH direct or proxy, got ${RECEIVER}, ${PROXY} and ${FLOOD_PATH}`)
}
/** Where to write the results instead of bench/results/ (smoke runs) */
const RESULTS_FILE = process.env.RESULTS_FILE
/** Where the proxy ran, as recorded in the results */
const PROXY_PLACE = { inline: 'inline', receiver: 'receiver\'s process', process: 'own process' }[RECEIVER === 'inline' ? 'inline' : PROXY] as string
/** One-way delays to run, ms (0 is loopback) */
const LINKS = (process.env.LINKS ?? '0,25').split(',').map(Number)

type Services = { batching: MessageBatching, batchingNoFlow: MessageBatching }
type Node = Libp2p<Services>
type Instance = keyof Services

async function node (listen: boolean): Promise<Node> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxInboundStreams: 4096, maxOutboundStreams: 4096 })],
    connectionMonitor: { enabled: false },
    services: {
      batching: messageBatching({ requestTimeout: 60_000, compression: false }),
      batchingNoFlow: messageBatching({ requestTimeout: 60_000, compression: false, flowControl: false, protocol: NO_FLOW_PROTOCOL })
    }
  }) as unknown as Promise<Node>
}

const now = (): number => performance.timeOrigin + performance.now()

/** Sends that failed in the paced runs, by error name (reported, never hidden) */
const failures = new Map<string, number>()

/** B's side: every arrival, whatever the mode, and the proxy's byte count; in this process or in B's own */
interface Remote {
  peerId: PeerId
  /** Forgets what arrived; `wait()` then resolves once n arrived; `keepLows: false` counts messages other than `high` without keeping their latencies */
  expect(n: number, keepLows?: boolean): Promise<void>
  wait(): Promise<void>
  count(): Promise<number>
  take(): Promise<{ count: number, latencies: number[], highLatencies: number[] }>
  bytesUp(): Promise<number>
  /** Bytes B -> A through the proxy (acknowledgements, window updates, multistream answers) */
  bytesDown(): Promise<number>
  /** B's event-loop delay p99 (ms), messages handed to handlers per turn of B's loop (p50, p99, max), B's GCs and CPU ms, from `loopEnable` to `loopP99`; the proxy's loop p99 and CPU ms when it has a process of its own */
  loopEnable(): Promise<void>
  loopP99(): Promise<{ loop: number, perTurn: number[], gc: number[], cpuMs: number, proxy?: { loop: number, cpuMs: number } }>
  stop(): Promise<void>
}

/** B in this process */
class Receiver {
  count = 0
  latencies: number[] = []
  highLatencies: number[] = []
  private keepLows = true
  private target = Infinity
  private done: () => void = () => {}
  private reached = Promise.resolve()

  arrived (data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    const latency = now() - view.getFloat64(0)
    if (data[8] === 1) {
      this.highLatencies.push(latency)
    } else if (this.keepLows) {
      this.latencies.push(latency)
    }
    if (++this.count >= this.target) { this.done() }
  }

  reset (n = Infinity, keepLows = true): void {
    this.keepLows = keepLows
    this.count = 0
    this.latencies = []
    this.highLatencies = []
    this.target = n
    this.reached = new Promise(resolve => { this.done = resolve })
  }

  async wait (): Promise<void> {
    return this.reached
  }
}

/** A timestamp, the priority flag, then random (incompressible) bytes */
function message (high = false): Uint8Array {
  const data = new Uint8Array(SIZE)
  crypto.getRandomValues(data.subarray(9))
  new DataView(data.buffer).setFloat64(0, now())
  data[8] = high ? 1 : 0
  return data
}

interface Mode {
  name: string
  /** Sends one message; resolves when the sender may go on (its own backpressure) */
  send(data: Uint8Array): Promise<void>
  window: number
}

function modes (a: Node, b: PeerId, conn: Connection, lp: Stream): Mode[] {
  return [
    {
      name: 'stream/msg',
      window: WINDOW_STREAMS,
      send: async (data) => {
        const stream = await conn.newStream(PER_MSG, { maxOutboundStreams: 1 << 20 })
        stream.send(data)
        await stream.close()
      }
    },
    {
      name: 'lp-stream',
      window: 1,
      send: async (data) => {
        const frame = new Uint8Array(data.byteLength + 1)
        frame[0] = data.byteLength
        frame.set(data, 1)
        if (!lp.send(frame)) { await lp.onDrain() }
      }
    },
    {
      name: 'batching',
      window: WINDOW_BATCHING,
      send: async (data) => a.services.batching.send(b, 'bench', data, { priority: data[8] === 1 ? 'high' : 'normal' })
    },
    {
      name: 'batching, no flow control',
      window: WINDOW_BATCHING,
      send: async (data) => a.services.batchingNoFlow.send(b, 'bench', data, { priority: data[8] === 1 ? 'high' : 'normal' })
    }
  ]
}

/** Sends n messages with at most `window` unresolved sends */
async function pump (mode: Mode, n: number, make: () => Uint8Array = () => message()): Promise<void> {
  const gate = new Gate(mode.window)
  for (let i = 0; i < n; i++) {
    await gate.run(mode.send(make()))
  }
  await gate.idle()
}

/** At most `window` promises outstanding; waiting callers wake at half the window */
class Gate {
  private pending = 0
  private wake?: () => void
  private low: number
  private readonly window: number
  failure?: Error

  constructor (window: number) {
    this.window = window
    this.low = Math.floor(window / 2)
  }

  async run (p: Promise<void>): Promise<void> {
    this.pending++
    p.catch(err => { this.failure = err }).finally(() => {
      this.pending--
      if (this.wake != null && this.pending <= this.low) {
        const wake = this.wake
        this.wake = undefined
        wake()
      }
    })
    if (this.pending >= this.window) {
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  async idle (): Promise<void> {
    this.low = 0
    while (this.pending > 0) {
      await new Promise<void>(resolve => { this.wake = resolve })
    }
    if (this.failure != null) { throw this.failure }
  }
}

/** Sends at `perMs` messages every millisecond tick for `ms` */
async function paced (mode: Mode, everyMs: number, perTick: number, ms: number): Promise<number> {
  let sent = 0
  const end = performance.now() + ms
  while (performance.now() < end) {
    for (let i = 0; i < perTick; i++) {
      mode.send(message()).catch(err => { failures.set(err.name, (failures.get(err.name) ?? 0) + 1) })
      sent++
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  return sent
}

/** `address` goes through the proxy; `directAddress` is B's own listener */
interface RemoteAddresses {
  remote: Remote
  address: string
  directAddress: string
}

async function setup (latency: number): Promise<{ a: Node, remote: Remote, conn: Connection, lp: Stream, address: string, directAddress: string, stop(): Promise<void> }> {
  const a = await node(false)
  const { remote, address, directAddress } = RECEIVER === 'inline' ? await inlineRemote(latency) : await processRemote(latency)
  const conn = await a.dial(multiaddr(address))
  const lp = await conn.newStream(LP)

  return {
    a,
    remote,
    conn,
    lp,
    address,
    directAddress,
    stop: async () => { await a.stop(); await remote.stop() }
  }
}

/** The A node and connection of the flood trials: on loopback with FLOOD_PATH=direct a second A node dialling B's own listener, else the proxied one */
async function floodPath (env: { a: Node, conn: Connection, directAddress: string }, latency: number): Promise<{ a: Node, conn: Connection, path: 'direct' | 'proxy', stop(): Promise<void> }> {
  if (latency !== 0 || FLOOD_PATH === 'proxy') {
    return { a: env.a, conn: env.conn, path: 'proxy', stop: async () => {} }
  }
  const a = await node(false)
  try {
    const conn = await a.dial(multiaddr(env.directAddress))
    return { a, conn, path: 'direct', stop: async () => { await a.stop() } }
  } catch (err) {
    await a.stop()
    throw err
  }
}

/** B in a child process (./receiver-worker.ts); the proxy in another (./proxy-worker.ts) or, with PROXY=receiver, in B's */
async function processRemote (latency: number): Promise<RemoteAddresses> {
  const worker = forkWorker(join(dirname(fileURLToPath(import.meta.url)), 'receiver-worker.ts'))
  let proxy: ProxyProcess | undefined
  let address: string
  let directAddress: string
  try {
    const b = await worker.call<{ port: number, peerId: string }>('directAddress')
    directAddress = `/ip4/127.0.0.1/tcp/${b.port}/p2p/${b.peerId}`
    if (PROXY === 'receiver') {
      address = await worker.call<string>('address')
      await worker.call('setLatency', latency)
    } else {
      proxy = await startProxyProcess(b.port)
      await proxy.setLatency(latency)
      address = `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`
    }
  } catch (err) {
    await proxy?.stop()
    await worker.stop()
    throw err
  }
  process.stderr.write(`receiver pid ${worker.child.pid}${proxy != null ? `, proxy pid ${proxy.pid}` : ''}\n`)
  const remote: Remote = {
    peerId: peerIdFromString(address.split('/p2p/')[1]),
    expect: async (n, keepLows = true) => worker.call('reset', { n: Number.isFinite(n) ? n : null, keepLows }),
    wait: async () => worker.call('wait'),
    count: async () => worker.call('count'),
    take: async () => worker.call('take'),
    bytesUp: async () => proxy != null ? proxy.bytesUp() : worker.call('bytesUp'),
    bytesDown: async () => proxy != null ? proxy.bytesDown() : worker.call('bytesDown'),
    loopEnable: async () => { await Promise.all([worker.call('loopEnable'), proxy?.loopEnable()]) },
    loopP99: async () => {
      const [b, p] = await Promise.all([worker.call('loopP99'), proxy?.loopP99()])
      return { ...b, proxy: p }
    },
    stop: async () => {
      try {
        await worker.call('stop')
      } finally {
        await worker.stop()
        await proxy?.stop()
      }
    }
  }
  return { remote, address, directAddress }
}

/** B and the proxy in this process, sharing its event loop with A */
async function inlineRemote (latency: number): Promise<RemoteAddresses> {
  const b = await node(true)
  const receiver = new Receiver()
  receiver.reset()

  await handleBaselines(b, (data) => { receiver.arrived(data) })
  for (const instance of ['batching', 'batchingNoFlow'] as const) {
    b.services[instance].handle('bench', (data) => { receiver.arrived(data) })
    b.services[instance].handle('json', (data) => { receiver.arrived(data) })
    b.services[instance].handle('echo', (data) => data)
  }

  const port = Number(b.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = new FaultProxy({ target: { port } })
  await proxy.start()
  proxy.setLatency(latency)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  const remote: Remote = {
    peerId: b.peerId,
    expect: async (n, keepLows = true) => { receiver.reset(n, keepLows) },
    wait: async () => receiver.wait(),
    count: async () => receiver.count,
    take: async () => ({ count: receiver.count, latencies: receiver.latencies, highLatencies: receiver.highLatencies }),
    bytesUp: async () => proxy.stats.bytesUp,
    bytesDown: async () => proxy.stats.bytesDown,
    loopEnable: async () => { loop.reset(); loop.enable() },
    loopP99: async () => { loop.disable(); return { loop: loop.percentile(99) / 1e6, perTurn: [], gc: [], cpuMs: NaN } },
    stop: async () => { await b.stop(); await proxy.stop() }
  }
  return { remote, address: `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`, directAddress: `/ip4/127.0.0.1/tcp/${port}/p2p/${b.peerId}` }
}

const results: Record<string, unknown> = {}

for (const latency of LINKS) {
  const label = latency === 0 ? 'loopback' : `${latency} ms each way`
  const env = await setup(latency)
  const { a, remote } = env
  const all = modes(a, remote.peerId, env.conn, env.lp)
  const rows: Array<Record<string, string | number>> = []
  const raw: Record<string, unknown> = {}

  // warm up every path
  for (const mode of all) {
    await remote.expect(200)
    await pump(mode, 200)
    await remote.wait()
  }

  // throughput and saturating latency: ROUNDS interleaved rounds, the order rotating, so
  // machine noise hits every mode alike; msg/s is the median over the rounds
  const rates = new Map<string, number[]>(all.map(m => [m.name, []]))
  const wires = new Map<string, { bytes: number, back: number, n: number }>(all.map(m => [m.name, { bytes: 0, back: 0, n: 0 }]))
  const saturating = new Map<string, number[]>(all.map(m => [m.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < all.length; k++) {
      const mode = all[(k + round) % all.length]
      const perStream = latency > 0 ? Math.min(PER_STREAM_MESSAGES, 5000) : PER_STREAM_MESSAGES
      const total = mode.name === 'stream/msg' ? perStream : MESSAGES
      const n = Math.round(total / ROUNDS)
      const before = await remote.bytesUp()
      const backBefore = await remote.bytesDown()
      await remote.expect(n)
      const started = performance.now()
      await pump(mode, n)
      await remote.wait()
      rates.get(mode.name)?.push(n / ((performance.now() - started) / 1000))
      const wire = wires.get(mode.name) as { bytes: number, back: number, n: number }
      wire.bytes += await remote.bytesUp() - before
      wire.back += await remote.bytesDown() - backBefore
      wire.n += n
      saturating.get(mode.name)?.push(...(await remote.take()).latencies)
    }
  }

  for (const mode of all) {
    // light: 1 every 10 ms for 2 s; medium: 2 a millisecond tick for 2 s
    const light = await latencyRun(remote, mode, 10, 1, 2000)
    const medium = await latencyRun(remote, mode, 1, 2, 2000)
    const wire = wires.get(mode.name) as { bytes: number, back: number, n: number }
    const perMessage = wire.bytes / wire.n
    const backPerMessage = wire.back / wire.n
    const sat = saturating.get(mode.name) as number[]
    const rate = median(rates.get(mode.name) as number[])

    raw[mode.name] = { n: wire.n, rates: rates.get(mode.name), rate, wire: perMessage, wireBack: backPerMessage, light, medium, saturating: { p50: percentile(sat, 50), p99: percentile(sat, 99) } }
    rows.push({
      mode: mode.name,
      messages: String(wire.n),
      'msg/s (median of rounds)': Math.round(rate),
      'wire B/msg': perMessage,
      'back B/msg': backPerMessage,
      efficiency: `${fmt(SIZE / perMessage * 100, 1)}%`,
      'light p50/p99 ms': `${fmt(median(light))}/${fmt(percentile(light, 99))}`,
      'medium p50/p99 ms': `${fmt(median(medium))}/${fmt(percentile(medium, 99))}`,
      'saturating p50/p99 ms': `${fmt(percentile(sat, 50))}/${fmt(percentile(sat, 99))}`
    })
  }

  printTable(`100 B messages A -> B, ${label} (through @x/fault-proxy, in ${PROXY_PLACE}; wire = TCP payload bytes A -> B, efficiency = 100 B / wire; back = B -> A meanwhile, not in the efficiency)`, rows)
  const perStream = raw['stream/msg'] as any
  const lpStream = raw['lp-stream'] as any
  const batched = raw.batching as any
  const speedupStream = batched.rate / perStream.rate
  const speedupLp = batched.rate / lpStream.rate
  const lightDelta = median(batched.light) - median(lpStream.light)

  // high priority while a low flood saturates the link: each instance FLOOD_TRIALS times, interleaved,
  // on loopback by default over a connection of their own with no proxy (FLOOD_PATH)
  const flooding = await floodPath(env, latency)
  const fa = flooding.a
  if (flooding.path === 'direct') {
    // warm up the new connection as the proxied one was
    for (const instance of ['batching', 'batchingNoFlow'] as Instance[]) {
      await remote.expect(200)
      await pump({ name: instance, window: WINDOW_BATCHING, send: async (data) => fa.services[instance].send(remote.peerId, 'bench', data) }, 200)
      await remote.wait()
    }
  }
  const proxyBytesBeforeFloods = await remote.bytesUp()
  const floods: Record<Instance, Flood> = { batching: newFlood(), batchingNoFlow: newFlood() }
  for (let trial = 0; trial < FLOOD_TRIALS; trial++) {
    for (const instance of (trial % 2 === 0 ? ['batching', 'batchingNoFlow'] : ['batchingNoFlow', 'batching']) as Instance[]) {
      const idle: number[] = []
      for (let i = 0; i < 50; i++) {
        const t = performance.now()
        await fa.services[instance].request(remote.peerId, 'echo', new Uint8Array(SIZE))
        idle.push(performance.now() - t)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      const idleHigh = await highsWithoutFlood(remote, fa, instance)
      const { high, lows, ms, loop, remoteLoop, perTurn, gc, cpu, highMs, proxyLoop } = await floodWithHigh(remote, fa, instance)
      const f = floods[instance]
      f.idle.push(median(idle))
      f.idleHighP50.push(median(idleHigh))
      f.idleHighP99.push(percentile(idleHigh, 99))
      f.cpu.push(cpu)
      f.highMs.push(highMs)
      f.proxyLoop.push(proxyLoop)
      f.p50.push(median(high))
      f.p99.push(percentile(high, 99))
      f.highs.push(high)
      f.lows.push(lows)
      f.ms.push(ms)
      f.n.push(high.length)
      f.loop.push(loop)
      f.remoteLoop.push(remoteLoop)
      f.perTurn.push(perTurn)
      f.gc.push(gc)
    }
  }
  for (const f of Object.values(floods)) {
    // beside the medians of the trials: the p99 of every trial's highs together, and the trials that met the target against their own idle RTT
    f.pooledP99 = percentile(f.highs.flat(), 99)
    f.trialsMet = f.p99.filter((p99, trial) => p99 <= 2 * f.idle[trial]).length
  }
  const floodConnection = {
    path: flooding.path,
    remoteAddr: flooding.conn.remoteAddr.toString(),
    /** Bytes A -> B through the proxy during the flood trials: the flood's megabytes through the proxy, next to none when direct */
    proxyBytesUp: await remote.bytesUp() - proxyBytesBeforeFloods
  }
  await flooding.stop()

  const efficiency = SIZE / batched.wire
  const noFlow = raw['batching, no flow control'] as any
  process.stdout.write(`\n${label}: batching vs stream/msg ${fmt(speedupStream, 1)}x (target >= 20x: ${speedupStream >= 20 ? 'met' : 'NOT met'}), ` +
    `vs lp-stream ${fmt(speedupLp, 2)}x (target >= 2x: ${speedupLp >= 2 ? 'met' : 'NOT met'}), ` +
    `efficiency ${fmt(efficiency * 100, 1)}% (target >= 95%: ${efficiency >= 0.95 ? 'met' : 'NOT met'}), ` +
    `light-load p50 ${fmt(lightDelta, 3)} ms vs lp-stream (target within 1 ms: ${Math.abs(lightDelta) <= 1 ? 'met' : 'NOT met'}); ` +
    `without flow control: ${fmt(noFlow.rate / perStream.rate, 1)}x / ${fmt(noFlow.rate / lpStream.rate, 2)}x\n`)
  const floodRows: Array<Record<string, string | number>> = []
  for (const instance of ['batchingNoFlow', 'batching'] as Instance[]) {
    const f = floods[instance]
    const idleRtt = median(f.idle)
    const p99 = median(f.p99)
    floodRows.push({
      instance: instance === 'batching' ? 'batching (flow control)' : 'batching, no flow control',
      'idle RTT ms (median)': idleRtt,
      'high p50 ms (median of trials)': median(f.p50),
      'high p99 ms (median of trials)': p99,
      'p99 per trial': f.p99.map(v => fmt(v)).join(' / '),
      'high p99 ms, all trials together': f.pooledP99,
      'trials p99 <= 2x own idle RTT': `${f.trialsMet} of ${f.p99.length}`,
      'low sent per trial': f.lows.join(' / '),
      'flood s per trial (2.3 if the timers kept time)': f.ms.map(v => fmt(v / 1000, 1)).join(' / '),
      'low msg/s per trial': f.lows.map((n, i) => Math.round(n / f.ms[i] * 1000)).join(' / '),
      'high received': f.n.join(' / '),
      'idle high one-way p50/p99 ms (median of trials)': `${fmt(median(f.idleHighP50))}/${fmt(median(f.idleHighP99))}`,
      'event-loop delay p99 ms, A / B / proxy (median)': `${fmt(median(f.loop))} / ${fmt(median(f.remoteLoop))} / ${fmt(median(f.proxyLoop))}`,
      'CPU % of one core while the highs flow, A / B / proxy (median)': [0, 1, 2].map(k => fmt(median(f.cpu.map((c, i) => c[k] / f.highMs[i] * 100)), 0)).join(' / '),
      'B msgs per turn p50/p99/max (trial 1)': f.perTurn[0]?.join('/') ?? '',
      'B GCs, longest ms; major, longest (trial 1)': f.gc[0]?.length === 4 ? `${f.gc[0][0]}, ${fmt(f.gc[0][1])}; ${f.gc[0][2]}, ${fmt(f.gc[0][3])}` : '',
      'target p99 <= 2x idle RTT': p99 <= 2 * idleRtt ? 'met' : 'NOT met'
    })
  }
  printTable(`${label}: high priority (one every 10 ms, 200) while a low flood saturates the link, ${FLOOD_TRIALS} trials each, interleaved, ` +
    (floodConnection.path === 'direct' ? 'A -> B direct, no proxy (FLOOD_PATH=direct)' : `through the proxy, in ${PROXY_PLACE}`), floodRows)

  results[label] = { receiver: RECEIVER, proxy: PROXY_PLACE, proxyAddress: env.address, directAddress: env.directAddress, floodConnection, raw, speedupStream, speedupLp, efficiency, lightDelta, floods }
  await env.stop()
}

// compression on a realistic JSON payload, loopback
{
  const env = await setup(0)
  const rows: Array<Record<string, string | number>> = []
  const n = 20_000
  const payloads = Array.from({ length: 256 }, (_, i) => new TextEncoder().encode(JSON.stringify({
    type: 'presence', peer: `12D3KooW${'abcdefghij'.repeat(4).slice(i % 10, 30 + (i % 10))}`, room: `room-${i % 7}`, online: i % 3 !== 0, ts: 1764300000000 + i * 37, seq: i
  })))
  for (const compression of [false, { threshold: 1024, level: 6 }] as const) {
    const a = await createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      services: { batching: messageBatching({ compression }) }
    })
    await a.dial(env.conn.remoteAddr)
    await env.remote.expect(n)
    const before = await env.remote.bytesUp()
    const cpu = process.cpuUsage()
    const started = performance.now()
    const mode: Mode = { name: 'json', window: WINDOW_BATCHING, send: async (data) => a.services.batching.send(env.remote.peerId, 'json', data) }
    let i = 0
    await pump(mode, n, () => payloads[i++ % payloads.length])
    await env.remote.wait()
    const seconds = (performance.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    const m = a.services.batching.getMetrics()
    const payloadBytes = payloads.reduce((s, p) => s + p.byteLength, 0) / payloads.length * n
    rows.push({
      compression: compression === false ? 'off' : 'deflate level 6',
      'payload B/msg': payloadBytes / n,
      'wire B/msg': (await env.remote.bytesUp() - before) / n,
      'records/frame bytes': m.bytesBeforeCompression === 0 ? 0 : m.bytesAfterCompression / m.bytesBeforeCompression,
      'msg/s': Math.round(n / seconds),
      [RECEIVER === 'inline' ? 'CPU us/msg (whole process)' : 'CPU us/msg (A\'s process)']: (used.user + used.system) / n
    })
    await a.stop()
  }
  printTable('Compression, JSON presence messages (~150 B), 20,000 A -> B, loopback', rows)
  results.compression = rows
  await env.stop()
}

if (failures.size > 0) {
  process.stdout.write(`\nfailed sends in the paced runs: ${JSON.stringify(Object.fromEntries(failures))}\n`)
}
results.failures = Object.fromEntries(failures)
if (RESULTS_FILE != null) {
  writeFileSync(RESULTS_FILE, JSON.stringify({ name: 'batching-compare', date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n')
  process.stdout.write(`\nwrote ${RESULTS_FILE}\n`)
} else {
  writeResults({ inline: 'batching-compare-inline', receiver: 'batching-compare-proxy-in-receiver', process: 'batching-compare' }[RECEIVER === 'inline' ? 'inline' : PROXY] as string, results)
}

async function latencyRun (remote: Remote, mode: Mode, everyMs: number, perTick: number, ms: number): Promise<number[]> {
  await remote.expect(Infinity)
  const failedBefore = [...failures.values()].reduce((a, b) => a + b, 0)
  let sent = await paced(mode, everyMs, perTick, ms)
  // a failed send never arrives
  sent -= [...failures.values()].reduce((a, b) => a + b, 0) - failedBefore
  // late failures are not subtracted: stop waiting 30 s after the last send
  const deadline = Date.now() + 30_000
  while (await remote.count() < sent && Date.now() <= deadline) {
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return (await remote.take()).latencies
}

/** One instance's flood trials */
interface Flood {
  /** Median request round trip before each trial, ms */
  idle: number[]
  /** One-way p50 and p99 of the trial's 200 `high` messages sent with no flood, ms */
  idleHighP50: number[]
  idleHighP99: number[]
  p50: number[]
  /** Each trial's p99 (nearest rank: of 200, the 3rd slowest) */
  p99: number[]
  /** Each trial's `high` one-way latencies under the flood, ms */
  highs: number[][]
  /** The p99 of all trials' `high` latencies together, ms */
  pooledP99: number
  /** Trials whose p99 was <= 2x their own idle RTT */
  trialsMet: number
  lows: number[]
  ms: number[]
  n: number[]
  loop: number[]
  remoteLoop: number[]
  proxyLoop: number[]
  perTurn: number[][]
  gc: number[][]
  /** CPU ms of A, B and the proxy's process while the highs flowed (NaN where not measured apart) */
  cpu: number[][]
  /** How long the highs flowed, ms */
  highMs: number[]
}

function newFlood (): Flood {
  return { idle: [], idleHighP50: [], idleHighP99: [], p50: [], p99: [], highs: [], pooledP99: NaN, trialsMet: 0, lows: [], ms: [], n: [], loop: [], remoteLoop: [], proxyLoop: [], perTurn: [], gc: [], cpu: [], highMs: [] }
}

/** The flood trial's 200 `high` messages (one every 10 ms) with no flood: their one-way latencies, ms */
async function highsWithoutFlood (remote: Remote, a: Node, instance: Instance): Promise<number[]> {
  await remote.expect(200, false)
  const sends: Array<Promise<void>> = []
  for (let i = 0; i < 200; i++) {
    sends.push(a.services[instance].send(remote.peerId, 'bench', message(true), { priority: 'high' }))
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  await Promise.all(sends)
  await remote.wait()
  return (await remote.take()).highLatencies
}

async function floodWithHigh (remote: Remote, a: Node, instance: Instance): Promise<{ high: number[], lows: number, ms: number, loop: number, remoteLoop: number, proxyLoop: number, perTurn: number[], gc: number[], cpu: number[], highMs: number }> {
  await remote.expect(Infinity, false)
  // how long the sender's event loop is held while the highs are sent (inline: the one loop of sender, receiver and proxy)
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  const flood = { on: true }
  const floodStart = performance.now()
  let lows = 0
  const service = a.services[instance]
  const low: Mode = { name: 'low', window: WINDOW_BATCHING, send: async (data) => service.send(remote.peerId, 'bench', data, { priority: 'low' }) }
  const floodDone = (async () => {
    const gate = new Gate(low.window)
    while (flood.on) {
      await gate.run(low.send(message()))
      lows++
    }
    await gate.idle()
  })()
  await new Promise(resolve => setTimeout(resolve, 300))
  loopDelay.enable()
  if (RECEIVER !== 'inline') { await remote.loopEnable() }
  const cpuA = process.cpuUsage()
  const highStart = performance.now()
  for (let i = 0; i < 200; i++) {
    void service.send(remote.peerId, 'bench', message(true), { priority: 'high' })
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  loopDelay.disable()
  const usedA = process.cpuUsage(cpuA)
  const highMs = performance.now() - highStart
  const { loop: remoteLoop, perTurn, gc, cpuMs, proxy } = RECEIVER !== 'inline' ? await remote.loopP99() : { loop: NaN, perTurn: [], gc: [], cpuMs: NaN, proxy: undefined }
  // in the receiver's or A's process, the proxy's CPU is counted there
  const cpu = [(usedA.user + usedA.system) / 1000, cpuMs, proxy?.cpuMs ?? NaN]
  flood.on = false
  // how long the flood ran: 200 timers of 10 ms take longer on a busy loop (the highs' real interval, and the lows' rate)
  const ms = performance.now() - floodStart
  await floodDone
  const deadline = Date.now() + 30_000
  // every high and low arrived: the next trial starts on an empty path
  while (await remote.count() < lows + 200 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  const got = await remote.take()
  return { high: got.highLatencies, lows, ms, loop: loopDelay.percentile(99) / 1e6, remoteLoop, proxyLoop: proxy?.loop ?? NaN, perTurn, gc, cpu, highMs }
}
