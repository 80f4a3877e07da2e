/**
 * The receiving node B of `compare.ts` (and of `flow-ab.ts`) in a
 * process of its own (not a benchmark by itself), so that B runs on its own
 * event loop as a remote peer would, not on the sender's. `address` starts
 * an `@x/fault-proxy` in front of B in this process (on B's event loop: the
 * setup of `flow-ab.ts` and of `compare.ts` with `PROXY=receiver`);
 * `directAddress` is B's own listener, for a proxy in a process of its own
 * (`proxy-worker.ts`, `compare.ts`'s default). It answers the coordinator's commands
 * over the IPC channel (see ../lib/worker-rpc.ts) and records each
 * message's one-way latency from the sender's timestamp (both processes
 * read the same clock: `performance.timeOrigin + performance.now()`).
 */
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { FaultProxy } from '@x/fault-proxy'
import { messageBatching } from '@x/message-batching'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { serveWorker } from '../lib/worker-rpc.ts'
import type { Libp2p } from '@libp2p/interface'

export const PER_MSG = '/bench/msg/1.0.0'
export const LP = '/bench/lp/1.0.0'
export const NO_FLOW_PROTOCOL = '/x/batch-noflow/1.0.0'

const now = (): number => performance.timeOrigin + performance.now()

/**
 * B's handlers for the two baselines: a stream per message (the message is
 * whatever arrived before the sender closed its side) and one stream of
 * length-prefixed writes (a one-byte length, then the message)
 */
export async function handleBaselines (b: Libp2p, arrived: (data: Uint8Array) => void): Promise<void> {
  await b.handle(PER_MSG, (stream) => {
    const data = new Uint8ArrayList()
    stream.addEventListener('message', (evt) => { data.append(evt.data) })
    stream.addEventListener('remoteCloseWrite', () => { arrived(data.subarray()); void stream.close() })
  }, { maxInboundStreams: 4096 })
  await b.handle(LP, (stream) => {
    const buffer = new Uint8ArrayList()
    stream.addEventListener('message', (evt) => {
      buffer.append(evt.data)
      while (buffer.byteLength > 0 && buffer.byteLength >= 1 + buffer.get(0)) {
        const length = buffer.get(0)
        arrived(buffer.subarray(1, 1 + length))
        buffer.consume(1 + length)
      }
    })
  })
}

if (process.send != null) {
  let count = 0
  let latencies: number[] = []
  let highLatencies: number[] = []
  let target = Infinity
  /** Whether the latencies of messages other than \`high\` are kept (not in a flood: a flood's are only counted) */
  let keepLows = true
  let reached: (() => void) | undefined
  const loop = monitorEventLoopDelay({ resolution: 1 })

  /** Messages handed to the handlers in each turn of B's event loop (counted while \`loopEnable\` ... \`loopP99\`) */
  let perTurn: number[] = []
  let thisTurn = 0
  let counting = false
  /** Garbage collections meanwhile: durations of all and of the major (mark-compact) ones, ms */
  let gcs: number[] = []
  let majors: number[] = []
  /** CPU time of this process since \`loopEnable\` */
  let cpu = process.cpuUsage()
  const gcObserver = new PerformanceObserver(list => {
    if (counting) {
      for (const entry of list.getEntries()) {
        gcs.push(entry.duration)
        if ((entry as any).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) { majors.push(entry.duration) }
      }
    }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const arrived = (data: Uint8Array): void => {
    if (counting && thisTurn++ === 0) {
      setImmediate(() => { perTurn.push(thisTurn); thisTurn = 0 })
    }
    const latency = now() - new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0)
    if (data[8] === 1) { highLatencies.push(latency) } else if (keepLows) { latencies.push(latency) }
    if (++count >= target && reached != null) { const r = reached; reached = undefined; r() }
  }

  const b = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxInboundStreams: 4096, maxOutboundStreams: 4096 })],
    connectionMonitor: { enabled: false },
    services: {
      batching: messageBatching({ requestTimeout: 60_000, compression: false }),
      batchingNoFlow: messageBatching({ requestTimeout: 60_000, compression: false, flowControl: false, protocol: NO_FLOW_PROTOCOL }),
      // more protocol ids to accept (argv[2], comma-separated), with flow control: for senders of another build (flow-ab.ts)
      ...Object.fromEntries((process.argv[2] ?? '').split(',').filter(id => id !== '').map((protocol, i) => [`extra${i}`, messageBatching({ requestTimeout: 60_000, compression: false, protocol })]))
    }
  })
  await handleBaselines(b, arrived)
  for (const instance of Object.values(b.services) as any[]) {
    instance.handle('bench', (data: Uint8Array) => { arrived(data) })
    instance.handle('json', (data: Uint8Array) => { arrived(data) })
    instance.handle('echo', (data: Uint8Array) => data)
  }
  const port = Number(b.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  /** The proxy on B's event loop, started by the first `address` */
  let proxy: FaultProxy | undefined
  const inProcessProxy = (): FaultProxy => {
    if (proxy == null) { throw new Error('no proxy in the receiver\'s process: call address first') }
    return proxy
  }

  serveWorker({
    /** B's address behind a fault proxy in this process (started on the first call) */
    address: async () => {
      if (proxy == null) {
        const started = new FaultProxy({ target: { port } })
        await started.start()
        proxy = started
      }
      return `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`
    },
    /** B's own listener, no proxy in between: B's TCP port and peer id */
    directAddress: () => ({ port, peerId: b.peerId.toString() }),
    setLatency: (ms: number) => { inProcessProxy().setLatency(ms) },
    bytesUp: () => inProcessProxy().stats.bytesUp,
    bytesDown: () => inProcessProxy().stats.bytesDown,
    /** Forgets what arrived; with `n`, `wait` resolves once n more arrived */
    reset: (arg?: { n?: number | null, keepLows?: boolean }) => {
      count = 0; latencies = []; highLatencies = []; target = arg?.n ?? Infinity; keepLows = arg?.keepLows ?? true; reached = undefined
      loop.reset()
    },
    wait: async () => {
      if (count >= target) { return }
      await new Promise<void>(resolve => { reached = resolve })
    },
    count: () => count,
    /** What arrived since the last reset (latencies in ms) */
    take: () => ({ count, latencies, highLatencies }),
    loopEnable: () => { loop.reset(); loop.enable(); perTurn = []; gcs = []; majors = []; counting = true; cpu = process.cpuUsage() },
    /** B's event-loop delay p99 (ms), messages handed over per turn (p50, p99, max) and garbage collections (count, longest ms, major ones, longest major ms) and CPU time (ms) since \`loopEnable\` */
    loopP99: () => {
      loop.disable()
      counting = false
      perTurn.sort((x, y) => x - y)
      const at = (p: number): number => perTurn[Math.min(perTurn.length - 1, Math.ceil(p / 100 * perTurn.length) - 1)] ?? 0
      const used = process.cpuUsage(cpu)
      return { loop: loop.percentile(99) / 1e6, perTurn: [at(50), at(99), perTurn.at(-1) ?? 0], gc: [gcs.length, Math.max(0, ...gcs), majors.length, Math.max(0, ...majors)], cpuMs: (used.user + used.system) / 1000 }
    },
    stop: async () => { gcObserver.disconnect(); await b.stop(); await proxy?.stop() }
  })
}
