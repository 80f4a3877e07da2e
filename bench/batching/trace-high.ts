/**
 * Where the slowest `high` messages wait while a `low` flood saturates the
 * link: A sends (this process), B and the `@x/fault-proxy` in front of it
 * run in a child process (as in compare.ts), LATENCY ms each way (0:
 * loopback), flow control on. Per `high` message:
 *
 * `aQueue`, from `send()` until its frame is handed to the stream (our
 * queues, the flow window, the writer), with the bytes A already wrote in
 * the same event-loop turn before it and the bytes in flight (sent, not
 * acknowledged) then; `wire`, from there until B reads the chunk that
 * carries it (yamux, noise, the sockets, the proxy, B's event loop before
 * the read); `bTurn`, from that read until B's handler runs (decoding and
 * the handlers of the messages ahead of it in the same chunk);
 * and what overlapped each: A's and B's garbage collections (from the
 * `gc` performance entries) and event-loop stalls (gaps of a 1 ms
 * interval timer beyond 2 ms, with the CPU time the process used meanwhile:
 * much less than the stall means it was not running, not busy), and the
 * flood producer's refills on A (each one event-loop turn). The table is
 * the medians over all highs and over the slowest 2 %, then each of those.
 *
 * PROXY=process runs the proxy in a process of its own (`proxy-worker.ts`,
 * as compare.ts does by default): `wire` then crosses three event loops,
 * and the proxy's event-loop delay p99 and CPU time are printed with A's
 * and B's.
 *
 * Run: `node bench/batching/trace-high.ts` (LATENCY=0 HIGHS=1000 FLOW=1 LOW_WINDOW=2000 PIN=0 PROXY=receiver)
 */
import { execFileSync } from 'node:child_process'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { InboundSession } from '../../packages/message-batching/dist/src/inbound.js'
import { FrameWriter } from '../../packages/message-batching/dist/src/writer.js'
import { createBatchingNode } from '../lib/nodes.ts'
import { percentile } from '../lib/stats.ts'
import { forkWorker, serveWorker } from '../lib/worker-rpc.ts'
import { startProxyProcess } from './proxy-worker.ts'

const LATENCY = Number(process.env.LATENCY ?? 0)
const HIGHS = Number(process.env.HIGHS ?? 1000)
const LOW_WINDOW = Number(process.env.LOW_WINDOW ?? 2000)
const SIZE = 100
/** PIN=1: A's threads on CPU 0, B's and the proxy's on CPU 1 (taskset), so neither process's threads (GC helpers included) take the other's core */
const PIN = process.env.PIN === '1'
/** `receiver` (default): the proxy in B's process; `process`: in its own (not pinned) */
const PROXY = process.env.PROXY ?? 'receiver'
const pin = (cpu: number): void => { if (PIN) { execFileSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' }) } }
const now = (): number => performance.timeOrigin + performance.now()
const stamp = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0)

type Span = [start: number, end: number]

/** Garbage collections and event-loop stalls of this process, as absolute [start, end] ms */
function watchProcess (): { gcs: Span[], majors: Span[], stalls: Span[], stallCpu: number[], readonly cores: number, stop(): void } {
  const gcs: Span[] = []
  const majors: Span[] = []
  const stalls: Span[] = []
  const observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      const start = performance.timeOrigin + entry.startTime
      gcs.push([start, start + entry.duration])
      if ((entry as any).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) { majors.push([start, start + entry.duration]) }
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  /** CPU time this process used during each stall (user + system), ms: far less than the stall means it was not running */
  const stallCpu: number[] = []
  let last = now()
  let lastCpu = process.cpuUsage()
  const tick = setInterval(() => {
    const t = now()
    const cpu = process.cpuUsage()
    if (t - last > 2) {
      stalls.push([last + 1, t])
      stallCpu.push((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000)
    }
    last = t
    lastCpu = cpu
  }, 1)
  const startWall = now()
  const startCpu = process.cpuUsage()
  /** CPU time over wall time since the start (1 = one core busy) */
  let cores = 0
  return {
    gcs,
    majors,
    stalls,
    stallCpu,
    get cores () { return cores },
    stop: () => {
      observer.disconnect()
      clearInterval(tick)
      const cpu = process.cpuUsage(startCpu)
      cores = (cpu.user + cpu.system) / 1000 / (now() - startWall)
    }
  }
}

/** ms of the spans inside [from, to] */
function overlap (spans: Span[], from: number, to: number): number {
  let ms = 0
  for (const [s, e] of spans) { ms += Math.max(0, Math.min(e, to) - Math.max(s, from)) }
  return ms
}

if (process.argv[2] === 'receiver') {
  pin(1)
  const b = await createBatchingNode(true)
  /** When B's read of the chunk being decoded began */
  let readAt = 0
  const receive = (InboundSession.prototype as any).receive
  ;(InboundSession.prototype as any).receive = function (this: any, chunk: any) { readAt = now(); return receive.call(this, chunk) }
  let highs: Array<[sent: number, read: number, handled: number]> = []
  b.services.batching.handle('m', (data: Uint8Array, { priority }: { priority: string }) => {
    if (priority === 'high') { highs.push([stamp(data), readAt, now()]) }
  })
  const port = Number(b.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = PROXY === 'process' ? undefined : new FaultProxy({ target: { port } })
  await proxy?.start()
  proxy?.setLatency(LATENCY)
  let watch: ReturnType<typeof watchProcess> | undefined
  serveWorker({
    address: () => `/ip4/127.0.0.1/tcp/${proxy?.port ?? port}/p2p/${b.peerId}`,
    start: () => { highs = []; watch = watchProcess() },
    count: () => highs.length,
    take: () => { watch?.stop(); return { highs, gcs: watch?.gcs, majors: watch?.majors, stalls: watch?.stalls, stallCpu: watch?.stallCpu, cores: watch?.cores } },
    stop: async () => { await b.stop(); await proxy?.stop() }
  })
} else {
  pin(0)
  const remote = forkWorker(fileURLToPath(import.meta.url), ['receiver'])
  const a = await createBatchingNode(false)

  // A's writes: per high, when its frame went to the stream, the bytes written before it this turn, the bytes in flight
  const written = new Map<number, { at: number, turnBytes: number, frameBytes: number, inFlight: number, window: number }>()
  let turnBytes = 0
  let turnArmed = false
  let flow: any
  const writeFrame = (FrameWriter.prototype as any).writeFrame
  ;(FrameWriter.prototype as any).writeFrame = function (this: any, stream: any, taken: any[], cause: string) {
    const before = stream.writableLength ?? 0
    const t = now()
    const inFlight = flow?.unacked ?? 0
    const window = flow?.window ?? 0
    const sent = this.hooks.sent
    let frameBytes = 0
    this.hooks.sent = (bytes: number, high: boolean, highOnly: boolean) => { frameBytes = bytes; flow = flow ?? this.hooks; return sent?.(bytes, high, highOnly) }
    try {
      return writeFrame.call(this, stream, taken, cause)
    } finally {
      this.hooks.sent = sent
      for (const item of taken) {
        if (item.priority === 0 && item.payload?.byteLength === SIZE) {
          written.set(stamp(item.payload), { at: t, turnBytes, frameBytes, inFlight, window })
        }
      }
      void before
      turnBytes += frameBytes
      if (!turnArmed) { turnArmed = true; setImmediate(() => { turnArmed = false; turnBytes = 0 }) }
    }
  }
  // the flow window's state, read where the service keeps it
  const { FlowWindow } = await import('../../packages/message-batching/dist/src/flow.js')
  const sentOrig = FlowWindow.prototype.sent
  FlowWindow.prototype.sent = function (this: any, ...args: any[]) { flow = this; return (sentOrig as any).apply(this, args) }

  const bAddress = await remote.call<string>('address')
  const proxyProcess = PROXY === 'process' ? await startProxyProcess(Number(bAddress.match(/\/tcp\/(\d+)/)?.[1])) : undefined
  await proxyProcess?.setLatency(LATENCY)
  await a.dial(multiaddr(proxyProcess != null ? bAddress.replace(/\/tcp\/\d+/, `/tcp/${proxyProcess.port}`) : bAddress))
  const peer = (await import('@libp2p/peer-id')).peerIdFromString(bAddress.split('/p2p/')[1])

  const message = (): Uint8Array => { const d = new Uint8Array(SIZE); new DataView(d.buffer).setFloat64(0, now()); return d }
  const flood = { on: true }
  // at most LOW_WINDOW low sends unresolved; the flood wakes at half of it
  const gate: { pending: number, wake?(): void } = { pending: 0 }
  const settled = (): void => {
    if (--gate.pending <= LOW_WINDOW / 2 && gate.wake != null) {
      const wake = gate.wake
      gate.wake = undefined
      wake()
    }
  }
  /** The flood producer's refills: each runs in one event-loop turn, from its wake-up until the window is full again */
  const refills: Span[] = []
  const floodDone = (async () => {
    let refillStart = now()
    while (flood.on) {
      gate.pending++
      a.services.batching.send(peer, 'm', message(), { priority: 'low' }).then(settled, settled)
      if (gate.pending >= LOW_WINDOW) {
        refills.push([refillStart, now()])
        await new Promise<void>(resolve => { gate.wake = resolve })
        refillStart = now()
      }
    }
  })()
  await new Promise(resolve => setTimeout(resolve, 1000))
  await remote.call('start')
  await proxyProcess?.loopEnable()
  const watch = watchProcess()
  for (let i = 0; i < HIGHS; i++) {
    void a.services.batching.send(peer, 'm', message(), { priority: 'high' })
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  flood.on = false
  await floodDone
  while (await remote.call<number>('count') < HIGHS) { await new Promise(resolve => setTimeout(resolve, 20)) }
  watch.stop()
  const proxyLoop = await proxyProcess?.loopP99()
  const b = await remote.call<{ highs: Array<[number, number, number]>, gcs: Span[], majors: Span[], stalls: Span[], stallCpu: number[], cores: number }>('take')

  const rows = b.highs.map(([sent, read, handled]) => {
    const w = written.get(sent) ?? { at: NaN, turnBytes: NaN, frameBytes: NaN, inFlight: NaN, window: NaN }
    return {
      total: handled - sent,
      aQueue: w.at - sent,
      wire: read - w.at,
      bTurn: handled - read,
      aGc: overlap(watch.gcs, sent, w.at),
      aStall: overlap(watch.stalls, sent, w.at),
      aStallWire: overlap(watch.stalls, w.at, read),
      aRefillWire: overlap(refills, w.at, read),
      bGcWire: overlap(b.gcs, w.at, read),
      bGcTurn: overlap(b.gcs, read, handled),
      bStallWire: overlap(b.stalls, w.at, read),
      aTurnKiB: w.turnBytes / 1024,
      frameKiB: w.frameBytes / 1024,
      inFlightKiB: w.inFlight / 1024,
      windowKiB: w.window / 1024
    }
  })
  rows.sort((x, y) => x.total - y.total)
  const top = rows.slice(Math.floor(rows.length * 0.98))
  const columns = Object.keys(rows[0]) as Array<keyof typeof rows[0]>
  const med = (xs: typeof rows, key: keyof typeof rows[0]): string => percentile(xs.map(r => r[key]), 50).toFixed(2)
  process.stdout.write(`loopback${LATENCY > 0 ? ` + ${LATENCY} ms each way` : ''}, ${HIGHS} highs, low window ${LOW_WINDOW}${PIN ? ', A on CPU 0, B on CPU 1' : ''}; ms unless KiB\n`)
  process.stdout.write(`high p50 ${percentile(rows.map(r => r.total), 50).toFixed(2)} p99 ${percentile(rows.map(r => r.total), 99).toFixed(2)} ms\n`)
  process.stdout.write(`${'column'.padEnd(12)} ${'all (p50)'.padStart(10)} ${'slowest 2% (p50)'.padStart(17)}\n`)
  for (const key of columns) { process.stdout.write(`${key.padEnd(12)} ${med(rows, key).padStart(10)} ${med(top, key).padStart(17)}\n`) }
  process.stdout.write('slowest 2 %, each:\n')
  for (const r of top) { process.stdout.write(columns.map(k => `${k} ${r[k].toFixed(1)}`).join(' ') + '\n') }
  /** Stalls over 5 ms: wall ms, CPU ms the process used meanwhile */
  const long = (spans: Span[], cpu: number[]): string => {
    const i = spans.map((_, j) => j).filter(j => spans[j][1] - spans[j][0] > 5)
    return `${i.length} over 5 ms: ${i.reduce((s, j) => s + spans[j][1] - spans[j][0], 0).toFixed(0)} ms wall, ${i.reduce((s, j) => s + cpu[j], 0).toFixed(0)} ms CPU`
  }
  const sum = (spans: Span[]): string => `${spans.length}, ${spans.reduce((s, [x, y]) => s + y - x, 0).toFixed(0)} ms, longest ${Math.max(0, ...spans.map(([x, y]) => y - x)).toFixed(1)} ms`
  process.stdout.write(`CPU (cores busy): A ${watch.cores.toFixed(2)}, ${proxyLoop == null ? 'B and the proxy' : 'B'} ${b.cores.toFixed(2)}; load average ${(await import('node:os')).loadavg()[0].toFixed(2)}\n`)
  if (proxyLoop != null) { process.stdout.write(`proxy process: event-loop delay p99 ${proxyLoop.loop.toFixed(2)} ms, CPU ${proxyLoop.cpuMs.toFixed(0)} ms\n`) }
  process.stdout.write(`A: gcs ${sum(watch.gcs)}; majors ${sum(watch.majors)}; stalls ${sum(watch.stalls)} (${long(watch.stalls, watch.stallCpu)})\n`)
  process.stdout.write(`A's flood refills: ${sum(refills)}\n`)
  process.stdout.write(`B: gcs ${sum(b.gcs)}; majors ${sum(b.majors)}; stalls ${sum(b.stalls)} (${long(b.stalls, b.stallCpu)})\n`)
  await a.stop()
  await remote.call('stop')
  await remote.stop()
  await proxyProcess?.stop()
}
