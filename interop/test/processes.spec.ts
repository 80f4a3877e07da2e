/**
 * Runs after every other interop spec (mocha root hook): no go peer this
 * test process started may still be alive, checked by pid.
 */
import { expect } from 'aegir/chai'
import { startedPids } from '../src/go-peer.ts'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

after('no go peer is left running', async () => {
  const deadline = Date.now() + 5_000
  let running = startedPids().filter(alive)

  while (running.length > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    running = startedPids().filter(alive)
  }

  expect(running, `go peer pids still alive: ${running.join(', ')}`).to.deep.equal([])
})
