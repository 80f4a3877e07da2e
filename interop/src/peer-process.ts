/**
 * Spawns a peer process, speaks its JSON-line control protocol and always
 * ends the process by its own pid (a registry kills any peer a spec forgot,
 * and every one still alive when the test process exits).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export interface PeerEvent {
  type: string
  ts?: number
  [key: string]: any
}

/** The peer answered a command with `ok: false`, or exited before answering or before it was ready */
export class PeerCommandError extends Error {
  static name = 'PeerCommandError'
  name = 'PeerCommandError'
}

/** A command or an awaited event did not come in time */
export class PeerTimeoutError extends Error {
  static name = 'PeerTimeoutError'
  name = 'PeerTimeoutError'
}

/** A command the peer's schema does not know (refused before it is written) */
export class UnknownCommandError extends Error {
  static name = 'UnknownCommandError'
  name = 'UnknownCommandError'
}

/** What a peer's commands take and return, by command name (`GoPeerCommands` for the go peer) */
export type CommandMap<C> = { [K in keyof C]: { args: object, reply: object } }

const live = new Set<PeerProcess<any>>()
const started: number[] = []

/** Every peer process pid this process started (bounded to the last 1,000) */
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
  predicate(evt: PeerEvent): boolean
  resolve(evt: PeerEvent): void
}

/** Bound on the events kept for `events` and `waitFor` look-backs */
const MAX_EVENTS = 10_000

/**
 * A peer process driven over JSON lines: commands on stdin, one `result` per
 * command and events on stdout, stderr kept for diagnosis. The go peer
 * (`interop/go-peer`) and the lab's js peer (`interop/lab/js-peer.ts`) both
 * speak it. Always ended by its own pid.
 *
 * `C` types the commands (the go peer's: `GoPeerCommands`, generated from
 * its schema); with the list of command names it also refuses, before
 * writing, a command the schema does not know. A command to a process that
 * is gone (or whose stdin failed, EPIPE) is rejected with
 * `PeerCommandError`; nothing is thrown from the pipe.
 */
export class PeerProcess<C extends CommandMap<C> = any> {
  public readonly pid: number
  public readonly events: PeerEvent[] = []
  public peerId = ''
  public addrs: string[] = []
  public exitCode?: number | null
  public readonly exited: Promise<void>
  public readonly stderr: string[] = []
  private readonly proc: ChildProcess
  private readonly waiters = new Set<Waiter>()
  private readonly pending = new Map<number, { resolve(evt: PeerEvent): void, reject(err: Error): void }>()
  private readonly known?: ReadonlySet<string>
  private stdinError?: Error
  private nextId = 1

  /**
   * @param proc - the spawned process, with piped stdio
   * @param name - prefix for its stderr lines
   * @param commands - the commands its schema knows; others are refused (default: any)
   */
  constructor (proc: ChildProcess, name: string, commands?: readonly string[]) {
    if (proc.pid == null) {
      // its error event (ENOENT, EACCES) follows on a later tick: this throw reports it
      proc.once('error', () => {})
      throw new PeerCommandError('the peer process did not start')
    }

    this.proc = proc
    this.pid = proc.pid
    this.known = commands == null ? undefined : new Set(commands)
    // a failed kill or signal is an error event: an error for the commands, never an uncaught exception
    proc.on('error', (err) => {
      this.rejectPending(new PeerCommandError(`the peer process failed: ${err.message}`))
    })
    // writing to a process that just died fails with EPIPE: an error for the commands, never an uncaught exception
    proc.stdin?.on('error', (err) => {
      this.stdinError ??= err
      this.rejectPending(new PeerCommandError(`cannot write to the peer: ${err.message}`))
    })
    live.add(this)
    started.push(proc.pid)
    if (started.length > 1_000) { started.shift() }

    this.exited = new Promise(resolve => {
      proc.once('exit', (code) => {
        this.exitCode = code
        live.delete(this)
        this.rejectPending(new PeerCommandError(`the peer exited (code ${code}) before answering`))
        resolve()
      })
    })

    createInterface({ input: proc.stdout! }).on('line', line => { this.onLine(line) })
    createInterface({ input: proc.stderr! }).on('line', line => {
      this.stderr.push(line)
      if (this.stderr.length > 500) { this.stderr.shift() }
      if (process.env.DEBUG_GO_PEER === '1' || process.env.DEBUG_PEER === '1') { process.stderr.write(`[${name}] ${line}\n`) }
    })
  }

  /**
   * Send a command and wait for its result (the reply's fields); rejects
   * with `UnknownCommandError` for a command the schema does not know,
   * `PeerCommandError` when the peer answers ok:false or is gone, and
   * `PeerTimeoutError` after `timeoutMs` (plus 2 s)
   */
  async command <K extends keyof C & string> (cmd: K, args?: C[K]['args'], timeoutMs?: number): Promise<C[K]['reply']>
  /** A peer without a schema (the default, `any`: a stand-in, the lab's js peer), or arguments the schema does not describe: the reply typed by the caller */
  async command <T = Record<string, any>> (cmd: keyof C & string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>
  async command (cmd: string, args: object = {}, timeoutMs = 15_000): Promise<unknown> {
    if (this.known != null && !this.known.has(cmd)) {
      throw new UnknownCommandError(`the peer's schema has no command "${cmd}"`)
    }

    if (this.exitCode !== undefined || this.stdinError != null || this.proc.stdin == null || !this.proc.stdin.writable) {
      throw new PeerCommandError(`peer command ${cmd} not sent: the peer ${this.exitCode !== undefined ? `exited (code ${this.exitCode})` : `cannot be written to (${this.stdinError?.message ?? 'stdin closed'})`}`)
    }

    const id = this.nextId++
    const result = new Promise<PeerEvent>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
    })

    this.proc.stdin.write(JSON.stringify({ id, cmd, timeoutMs, ...args }) + '\n', (err) => {
      if (err != null) {
        this.pending.get(id)?.reject(new PeerCommandError(`peer command ${cmd} not sent: ${err.message}`))
      }
    })

    const reply = await withTimeout(result, timeoutMs + 2_000, `peer command ${cmd}`)
      .finally(() => this.pending.delete(id))

    if (reply.ok !== true) {
      throw new PeerCommandError(`peer command ${cmd} failed: ${reply.error}`)
    }

    return reply
  }

  /** The first event of this type (already seen or to come) that matches */
  async waitFor (type: string, predicate: (evt: PeerEvent) => boolean = () => true, timeoutMs = 15_000): Promise<PeerEvent> {
    const seen = this.events.find(evt => evt.type === type && predicate(evt))

    if (seen != null) {
      return seen
    }

    return this.waitForNext(type, predicate, timeoutMs)
  }

  /** The next event of this type that matches, ignoring those already seen */
  async waitForNext (type: string, predicate: (evt: PeerEvent) => boolean = () => true, timeoutMs = 15_000): Promise<PeerEvent> {
    let waiter: Waiter | undefined
    const next = new Promise<PeerEvent>(resolve => {
      waiter = { type, predicate, resolve }
      this.waiters.add(waiter)
    })

    return withTimeout(next, timeoutMs, `peer event ${type}`)
      .finally(() => { if (waiter != null) { this.waiters.delete(waiter) } })
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    try {
      process.kill(this.pid, signal)
    } catch {
      // already gone
    }
  }

  /** Ask the peer to exit, then kill it by pid if it has not after a grace time */
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

  private rejectPending (err: Error): void {
    for (const { reject } of this.pending.values()) {
      reject(err)
    }

    this.pending.clear()
  }

  private onLine (line: string): void {
    let evt: PeerEvent

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
    timer = setTimeout(() => { reject(new PeerTimeoutError(`${what} timed out after ${ms}ms`)) }, ms)
  })

  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer) })
}

export interface StartPeerProcessOptions {
  command: string
  args?: string[]
  /** Prefix for the peer's stderr lines (printed with DEBUG_PEER=1) */
  name?: string
  /** How long to wait for the `ready` event */
  readyTimeoutMs?: number
  /** The commands its schema knows; others are refused before they are written (default: any) */
  commands?: readonly string[]
}

/** Spawns a peer process and resolves once it said `ready` (with its peer id and addresses) */
export async function startPeerProcess <C extends CommandMap<C> = any> (options: StartPeerProcessOptions): Promise<PeerProcess<C>> {
  const proc = spawn(options.command, options.args ?? [], { stdio: ['pipe', 'pipe', 'pipe'] })

  if (proc.pid == null) {
    // spawn failed (ENOENT, EACCES): the reason comes as an error event on a later tick
    const err = await new Promise<Error>(resolve => { proc.once('error', resolve) })
    throw new PeerCommandError(`the peer process did not start: ${err.message}`, { cause: err })
  }

  const peer = new PeerProcess<C>(proc, options.name ?? 'peer', options.commands)

  try {
    const ready = await Promise.race([
      peer.waitFor('ready', () => true, options.readyTimeoutMs ?? 30_000),
      peer.exited.then(() => { throw new PeerCommandError(`the peer exited with code ${peer.exitCode}: ${peer.stderr.slice(-10).join('\n')}`) })
    ])
    peer.peerId = ready.peerId
    peer.addrs = ready.addrs
  } catch (err) {
    await peer.stop()
    throw err
  }

  return peer
}
