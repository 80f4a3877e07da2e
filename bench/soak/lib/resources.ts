/**
 * Samples this process's resources: heap used and array buffers (after a
 * full GC when `--expose-gc` is on, and after the array buffers it found
 * dead are freed, so garbage does not look like a leak),
 * active handles (timers apart), open file descriptors, and the event-loop
 * delay (a histogram read and reset once a minute).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface ResourceSample {
  t: number
  heapUsed: number
  arrayBuffers: number
  rss: number
  /** Active handles and requests other than timers: sockets, pipes, servers, child processes, fs requests */
  handles: number
  /** Active timers and immediates (they come and go with requests in flight) */
  timers: number
  fds: number
  /** Handles and requests by type (`TCPSocketWrap`, `PipeWrap`, `ProcessWrap`...), timers apart */
  handleTypes?: Record<string, number>
  /** The swarm's connections when the sample was taken (the soak adds them) */
  connections?: ConnectionCounts
  /** How many records the soak itself holds (ledger connections, faults, losses, samples): they grow the heap with the run */
  records?: Record<string, number>
}

/** Connections open when a sample was taken */
export interface ConnectionCounts {
  /** Connections of each js node (to any peer) */
  byNode: number[]
  /** `toGo[g][n]`: connections of js node n to go peer g */
  toGo: number[][]
  /** Connections through the fault proxy (each is 4 sockets of this process: client, proxy's two, server) */
  proxied: number
  /** Connection ends relayed (circuit relay): they run on a stream of another connection, with no socket of their own */
  relayed?: number
}

export function sampleResources (): ResourceSample {
  const gc = (globalThis as { gc?(): void }).gc
  // twice: V8 frees the array buffers a major gc found dead on another thread
  // afterwards (one gc() left up to all of them counted in `arrayBuffers`);
  // the second gc starts by finishing that sweep, and nothing died in between
  gc?.()
  gc?.()
  const mem = process.memoryUsage()
  const resources = process.getActiveResourcesInfo()
  const timers = resources.filter(r => r === 'Timeout' || r === 'Immediate').length
  const handleTypes: Record<string, number> = {}

  for (const r of resources) {
    if (r !== 'Timeout' && r !== 'Immediate') {
      handleTypes[r] = (handleTypes[r] ?? 0) + 1
    }
  }

  return {
    t: Date.now(),
    heapUsed: mem.heapUsed,
    arrayBuffers: mem.arrayBuffers,
    rss: mem.rss,
    handles: resources.length - timers,
    timers,
    fds: openFds(),
    handleTypes
  }
}

/** Open file descriptors of this process (Linux /proc; -1 elsewhere) */
export function openFds (): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return -1
  }
}

/** Live child processes of this process whose command name starts with `prefix` (Linux /proc) */
export function childProcesses (prefix: string, parent = process.pid): number[] {
  const pids: number[] = []

  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue
    }

    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid ...; comm may hold spaces and parentheses
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')

      if (comm.startsWith(prefix) && Number(ppid) === parent && state !== 'Z') {
        pids.push(Number(entry))
      }
    } catch {
      // the process went away while we looked
    }
  }

  return pids
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export class LagMonitor {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay>

  constructor () {
    this.histogram = monitorEventLoopDelay({ resolution: 10 })
    this.histogram.enable()
  }

  /** p99 and max event-loop delay since the last call, ms; resets */
  take (): { p99: number, max: number } {
    const out = { p99: this.histogram.percentile(99) / 1e6, max: this.histogram.max / 1e6 }
    this.histogram.reset()
    return out
  }

  stop (): void {
    this.histogram.disable()
  }
}
