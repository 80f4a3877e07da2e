/**
 * Runs `listeners.ts` in a child process, so a benchmark does not count the
 * remote side's CPU: resolves with the listeners' addresses and a `stop`
 * that ends the child and waits for it to exit.
 */
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface ListenerProcess {
  addrs: string[]
  stop(): Promise<void>
}

export async function spawnListeners (count: number): Promise<ListenerProcess> {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'listeners.ts'), String(count)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const addrs: string[] = await new Promise(resolve => {
    createInterface({ input: child.stdout }).once('line', line => { resolve(JSON.parse(line)) })
  })

  return {
    addrs,
    stop: async () => {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.stdin.end()
      await exited
    }
  }
}
