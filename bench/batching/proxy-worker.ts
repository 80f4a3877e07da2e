/**
 * The `@x/fault-proxy` of `compare.ts` in a process of its own (not a
 * benchmark by itself), so that the sender A, the receiver B and the proxy
 * between them each run on their own event loop. With the proxy on B's
 * loop, every chunk it forwards (and on loopback that is every chunk of a
 * flood) waits for B's libp2p turns and B's turns for the proxy's: the
 * proxy's cost was counted as B's.
 *
 * The proxy counts the bytes on the wire (TCP payload A -> B: noise, yamux,
 * multistream and framing; not TCP/IP headers), as it did in B's process.
 *
 * Coordinator: `const proxy = await startProxyProcess(targetPort)`, then
 * `proxy.port`, `await proxy.setLatency(ms)`, `await proxy.bytesUp()`,
 * `await proxy.stop()`. The child exits when `stop()` closes its IPC
 * channel, when the coordinator exits (even by SIGKILL: the channel closes)
 * and when the proxy fails to start (the start rejects with the child's
 * error, and the child is gone).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { FaultProxy } from '@x/fault-proxy'
import { forkWorker, serveWorker } from '../lib/worker-rpc.ts'

/** A fault proxy running in a child process */
export interface ProxyProcess {
  /** The port the proxy listens on (127.0.0.1) */
  readonly port: number
  /** The child's process id */
  readonly pid: number
  /** One-way delay added to each direction, ms */
  setLatency(ms: number): Promise<void>
  /** TCP payload bytes forwarded towards the target since start, over all connections */
  bytesUp(): Promise<number>
  /** TCP payload bytes forwarded back from the target since start, over all connections */
  bytesDown(): Promise<number>
  /** The proxy process's event-loop delay p99 (ms) and CPU time (ms) from `loopEnable` to `loopP99` */
  loopEnable(): Promise<void>
  loopP99(): Promise<{ loop: number, cpuMs: number }>
  /** Closes the proxy and waits for the child to exit */
  stop(): Promise<void>
}

/** Thrown when the proxy process could not start its proxy; the child has exited */
export class ProxyProcessStartError extends Error {
  static name = 'ProxyProcessStartError'
  name = 'ProxyProcessStartError'
  /** The child's process id (it has exited) */
  readonly pid: number

  constructor (message: string, pid: number) {
    super(message)
    this.pid = pid
  }
}

/** Forks `proxy-worker.ts` and starts a proxy in it, forwarding to 127.0.0.1:`targetPort` */
export async function startProxyProcess (targetPort: number): Promise<ProxyProcess> {
  const worker = forkWorker(fileURLToPath(import.meta.url))
  const pid = worker.child.pid ?? -1
  let port: number
  try {
    port = await worker.call<number>('start', targetPort)
  } catch (err: any) {
    await worker.stop()
    throw new ProxyProcessStartError(`fault proxy process ${pid} did not start: ${err?.message ?? err}`, pid)
  }

  return {
    port,
    pid,
    setLatency: async (ms) => worker.call('setLatency', ms),
    bytesUp: async () => worker.call<number>('bytesUp'),
    bytesDown: async () => worker.call<number>('bytesDown'),
    loopEnable: async () => worker.call('loopEnable'),
    loopP99: async () => worker.call('loopP99'),
    stop: async () => {
      try {
        await worker.call('stop')
      } finally {
        await worker.stop()
      }
    }
  }
}

if (process.send != null && process.argv[1] === fileURLToPath(import.meta.url)) {
  let proxy: FaultProxy | undefined
  const loop = monitorEventLoopDelay({ resolution: 1 })
  let cpu = process.cpuUsage()

  serveWorker({
    start: async (targetPort: number) => {
      if (proxy != null) { throw new Error('the proxy is already started') }
      const started = new FaultProxy({ target: { port: targetPort } })
      await started.start()
      proxy = started
      return started.port
    },
    setLatency: (ms: number) => { running().setLatency(ms) },
    bytesUp: () => running().stats.bytesUp,
    bytesDown: () => running().stats.bytesDown,
    loopEnable: () => { loop.reset(); loop.enable(); cpu = process.cpuUsage() },
    loopP99: () => {
      loop.disable()
      const used = process.cpuUsage(cpu)
      return { loop: loop.percentile(99) / 1e6, cpuMs: (used.user + used.system) / 1000 }
    },
    stop: async () => { await proxy?.stop(); proxy = undefined }
  })

  function running (): FaultProxy {
    if (proxy == null) { throw new Error('the proxy is not started') }
    return proxy
  }
}
