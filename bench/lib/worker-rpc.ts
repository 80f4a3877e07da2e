/**
 * Request/response over a forked child's IPC channel, for benchmarks that
 * spread their nodes over several processes (one event loop per process).
 *
 * Coordinator: `const w = forkWorker(file, args)`, `await w.call('cmd', arg)`,
 * `await w.stop()`. A worker that exits rejects its pending calls; every
 * worker still alive is killed when the coordinator exits or receives
 * SIGINT/SIGTERM, and a worker exits by itself when its IPC channel closes
 * (the coordinator died, even by SIGKILL), so no process is left behind.
 *
 * Worker: `serveWorker({ cmd: async (arg) => result, ... })`.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

export interface WorkerHandle {
  /** Sends a command and resolves with the worker's answer */
  call<T = any>(cmd: string, arg?: unknown): Promise<T>
  /** Closes the IPC channel and waits for the worker to exit (SIGKILL after `graceMs`) */
  stop(graceMs?: number): Promise<void>
  readonly child: ChildProcess
}

const live = new Set<ChildProcess>()
let hooked = false

function killAll (): void {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch {}
  }
  live.clear()
}

function hookCoordinator (): void {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
  }
}

export function forkWorker (file: string, args: string[] = []): WorkerHandle {
  hookCoordinator()
  const child = fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  live.add(child)
  const pending = new Map<number, { resolve(value: any): void, reject(err: Error): void }>()
  let nextId = 0
  let exitReason: string | undefined
  const exited = new Promise<void>(resolve => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      exitReason = `worker ${child.pid} exited (${signal ?? code})`
      for (const { reject } of pending.values()) reject(new Error(exitReason))
      pending.clear()
      resolve()
    })
  })
  child.on('error', err => { process.stderr.write(`worker ${child.pid}: ${err.message}\n`) })
  child.on('message', (msg: any) => {
    const p = pending.get(msg?.id)
    if (p == null) return
    pending.delete(msg.id)
    if (msg.error != null) p.reject(new Error(`worker ${child.pid}: ${msg.error}`))
    else p.resolve(msg.result)
  })

  return {
    child,
    call: async (cmd, arg) => new Promise((resolve, reject) => {
      if (exitReason != null) {
        reject(new Error(exitReason))
        return
      }
      const id = nextId++
      pending.set(id, { resolve, reject })
      child.send({ id, cmd, arg }, err => {
        if (err != null && pending.delete(id)) reject(err)
      })
    }),
    stop: async (graceMs = 5_000) => {
      if (exitReason != null) return
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => { try { child.kill('SIGKILL') } catch {} }, graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/**
 * Serves commands from the coordinator; exits when the IPC channel closes.
 * Returns false (and serves nothing) when not started with an IPC channel.
 */
export function serveWorker (handlers: Record<string, (arg: any) => unknown>): boolean {
  if (process.send == null) return false
  process.on('disconnect', () => process.exit(0))
  process.on('message', (msg: any) => {
    const handler = handlers[msg?.cmd]
    void (async () => {
      if (handler == null) throw new Error(`unknown command ${msg?.cmd}`)
      return handler(msg.arg)
    })().then(
      result => ({ id: msg.id, result }),
      (err: any) => ({ id: msg.id, error: String(err?.stack ?? err) })
    ).then(reply => {
      if (process.connected) process.send?.(reply, undefined, undefined, () => {})
    })
  })
  return true
}
