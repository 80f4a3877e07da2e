/**
 * Saturates the machine's cores with busy processes (one per core), each
 * ending by itself after `ms` and killed by pid on `stop()` in any case.
 */
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { ChildProcess } from 'node:child_process'

const BUSY = 'const end = Date.now() + Number(process.argv[1]); let x = 0; while (Date.now() < end) { x = (x + 1) % 1e9 }'

export class CpuBurn {
  private readonly children = new Set<ChildProcess>()

  /** Starts `count` (default: one per core) busy processes for `ms` */
  start (ms: number, count = availableParallelism()): number[] {
    const pids: number[] = []

    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, ['-e', BUSY, String(ms)], { stdio: 'ignore' })
      this.children.add(child)
      child.once('exit', () => this.children.delete(child))

      if (child.pid != null) {
        pids.push(child.pid)
      }
    }

    return pids
  }

  get running (): number {
    return this.children.size
  }

  stop (): void {
    for (const child of this.children) {
      child.kill('SIGKILL')
    }
  }
}
