/**
 * Spawns the go peer, speaks its JSON-line control protocol and always ends
 * the process by its own pid (a registry kills any peer a spec forgot, and
 * every one still alive when the test process exits).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { buildGoPeer } from './build.ts'
import type { ChildProcess } from 'node:child_process'

export interface GoPeerEvent {
  type: string
  ts?: number
  [key: string]: any
}

export interface StartGoPeerOptions {
  /** Extra flags for the go peer */
  args?: string[]

  /** Private key file (protobuf-marshalled libp2p key), so the peer id is known in advance */
  keyFile?: string

  /** Run inside this network namespace (`ip netns exec`) */
  netns?: string

  /** The go peer's own overall timeout, after which it exits by itself */
  timeoutMs?: number

  /** How long to wait for the `ready` event */
  readyTimeoutMs?: number

  /** Prefix for the go peer's stderr lines (only printed with DEBUG_GO_PEER=1) */
  name?: string
}

export class GoPeerCommandError extends Error {
  static name = 'GoPeerCommandError'
  name = 'GoPeerCommandError'
}

export class GoPeerTimeoutError extends Error {
  static name = 'GoPeerTimeoutError'
  name = 'GoPeerTimeoutError'
}

const live = new Set<GoPeer>()
const started: number[] = []

/** Every go peer pid this process started (bounded to the last 1,000) */
export function startedPids (): number[] {
  return [...started]
}

process.on('exit', () => {
  for (const peer of live) {
    peer.kill('SIGKILL')
  }
})

interface Waiter {
  type: string
  predicate(evt: GoPeerEvent): boolean
  resolve(evt: GoPeerEvent): void
}

/** Bound on the events kept for `events` and `waitFor` look-backs */
const MAX_EVENTS = 10_000

export class GoPeer {
  public readonly pid: number
  public readonly events: GoPeerEvent[] = []
  public peerId = ''
  public addrs: string[] = []
  public exitCode?: number | null
  public readonly exited: Promise<void>
  public readonly stderr: string[] = []
  private readonly proc: ChildProcess
  private readonly waiters = new Set<Waiter>()
  private readonly pending = new Map<number, { resolve(evt: GoPeerEvent): void, reject(err: Error): void }>()
  private nextId = 1

  constructor (proc: ChildProcess, name: string) {
    if (proc.pid == null) {
      throw new GoPeerCommandError('the go peer did not start')
    }

    this.proc = proc
    this.pid = proc.pid
    live.add(this)
    started.push(proc.pid)
    if (started.length > 1_000) { started.shift() }

    this.exited = new Promise(resolve => {
      proc.once('exit', (code) => {
        this.exitCode = code
        live.delete(this)

        for (const { reject } of this.pending.values()) {
          reject(new GoPeerCommandError(`the go peer exited (code ${code}) before answering`))
        }

        this.pending.clear()
        resolve()
      })
    })

    createInterface({ input: proc.stdout! }).on('line', line => { this.onLine(line) })
    createInterface({ input: proc.stderr! }).on('line', line => {
      this.stderr.push(line)
      if (this.stderr.length > 500) { this.stderr.shift() }
      if (process.env.DEBUG_GO_PEER === '1') { process.stderr.write(`[${name}] ${line}\n`) }
    })
  }

  /** Send a command and wait for its result; rejects when the go peer answers ok:false */
  async command <T = Record<string, any>> (cmd: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.nextId++
    const result = new Promise<GoPeerEvent>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
    })

    this.proc.stdin!.write(JSON.stringify({ id, cmd, timeoutMs, ...args }) + '\n')

    const reply = await withTimeout(result, timeoutMs + 2_000, `go peer command ${cmd}`)
      .finally(() => this.pending.delete(id))

    if (reply.ok !== true) {
      throw new GoPeerCommandError(`go peer command ${cmd} failed: ${reply.error}`)
    }

    return reply as T
  }

  /** The first event of this type (already seen or to come) that matches */
  async waitFor (type: string, predicate: (evt: GoPeerEvent) => boolean = () => true, timeoutMs = 15_000): Promise<GoPeerEvent> {
    const seen = this.events.find(evt => evt.type === type && predicate(evt))

    if (seen != null) {
      return seen
    }

    return this.waitForNext(type, predicate, timeoutMs)
  }

  /** The next event of this type that matches, ignoring those already seen */
  async waitForNext (type: string, predicate: (evt: GoPeerEvent) => boolean = () => true, timeoutMs = 15_000): Promise<GoPeerEvent> {
    let waiter: Waiter | undefined
    const next = new Promise<GoPeerEvent>(resolve => {
      waiter = { type, predicate, resolve }
      this.waiters.add(waiter)
    })

    return withTimeout(next, timeoutMs, `go peer event ${type}`)
      .finally(() => { if (waiter != null) { this.waiters.delete(waiter) } })
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    try {
      process.kill(this.pid, signal)
    } catch {
      // already gone
    }
  }

  /** Ask the go peer to exit, then kill it by pid if it has not after a grace time */
  async stop (graceMs = 3_000): Promise<void> {
    if (this.exitCode !== undefined) {
      return
    }

    this.kill('SIGCONT')

    try {
      this.proc.stdin!.end(JSON.stringify({ id: 0, cmd: 'exit' }) + '\n')
    } catch {
      // stdin already closed: the kill below ends it
    }

    const timer = setTimeout(() => { this.kill('SIGKILL') }, graceMs)
    await this.exited
    clearTimeout(timer)
  }

  private onLine (line: string): void {
    let evt: GoPeerEvent

    try {
      evt = JSON.parse(line)
    } catch {
      this.stderr.push(`(non-JSON stdout) ${line}`)
      return
    }

    if (evt.type === 'result' && typeof evt.id === 'number') {
      this.pending.get(evt.id)?.resolve(evt)
      return
    }

    this.events.push(evt)
    if (this.events.length > MAX_EVENTS) { this.events.shift() }

    for (const waiter of this.waiters) {
      if (waiter.type === evt.type && waiter.predicate(evt)) {
        this.waiters.delete(waiter)
        waiter.resolve(evt)
      }
    }
  }
}

async function withTimeout <T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new GoPeerTimeoutError(`${what} timed out after ${ms}ms`)) }, ms)
  })

  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer) })
}

/** Build (if needed) and start a go peer, resolving once it is ready */
export async function startGoPeer (options: StartGoPeerOptions = {}): Promise<GoPeer> {
  const binary = await buildGoPeer()
  const args = [
    '-timeout', `${Math.round((options.timeoutMs ?? 180_000) / 1000)}s`,
    ...(options.keyFile != null ? ['-key', options.keyFile] : []),
    ...(options.args ?? [])
  ]
  const [command, argv] = options.netns != null
    ? ['ip', ['netns', 'exec', options.netns, binary, ...args]]
    : [binary, args]
  const proc = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] })
  const peer = new GoPeer(proc, options.name ?? 'go-peer')

  try {
    const ready = await Promise.race([
      peer.waitFor('ready', () => true, options.readyTimeoutMs ?? 30_000),
      peer.exited.then(() => { throw new GoPeerCommandError(`the go peer exited with code ${peer.exitCode}: ${peer.stderr.slice(-5).join('\n')}`) })
    ])
    peer.peerId = ready.peerId
    peer.addrs = ready.addrs
  } catch (err) {
    await peer.stop()
    throw err
  }

  return peer
}
