/**
 * The soak's 2-minute version (`npm run test:soak -w bench`): go peers, one
 * cycle of every disruption, and every check of the 30-minute run: each
 * lost request explained by the death of (or a fault on) the connection it
 * ran on, nothing stalled, resources flat, no go process left. The
 * event-loop lag is a wall-clock figure of a shared machine: printed, not
 * asserted here (the soak itself checks it).
 *
 * Not in `npm test` yet: with per-connection accounting it passes on a
 * quiet machine, but under load its saturated minute loses batched requests
 * on connections that stay open: `@x/message-batching` gives up on a
 * request after `@x/health`'s adaptive timeout (the demo's `minTimeout`,
 * 500 ms) even when the caller's signal allows 5 s. A real defect the soak
 * now names; it goes back into `npm test` once that is fixed.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { goMissingReason, requireOrSkip } from '@x/interop'
import { expect } from 'aegir/chai'

const SOAK = join(dirname(fileURLToPath(import.meta.url)), 'soak.ts')
const MINUTES = 2

describe('soak (2 minutes)', function () {
  this.timeout((MINUTES + 3) * 60_000)
  let dir: string

  before(async function () {
    requireOrSkip(this, 'the soak with go peers', goMissingReason())
    dir = await mkdtemp(join(tmpdir(), 'x-soak-spec-'))
  })

  after(async () => {
    if (dir != null) {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs the swarm with go peers through every disruption and passes every check', async () => {
    const out = join(dir, 'soak.json')
    let output = ''
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--expose-gc', SOAK, '--minutes', String(MINUTES), '--sample', '5', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout.on('data', (d) => { output += d })
      child.stderr.on('data', (d) => { output += d })
      // never leave a soak (and its go peers) behind, nor hang the run: SIGTERM lets it
      // stop its go peers and write its results, SIGKILL if even that does not end it
      const term = setTimeout(() => child.kill('SIGTERM'), (MINUTES + 1.5) * 60_000)
      const kill = setTimeout(() => child.kill('SIGKILL'), (MINUTES + 2.5) * 60_000)
      child.on('close', (c) => {
        clearTimeout(term)
        clearTimeout(kill)
        resolve(c)
      })
    })
    const result = JSON.parse(await readFile(out, 'utf8'))

    // exit 0 when every check passed, 1 when one failed (2: the soak itself broke)
    expect(code, output).to.be.oneOf([0, 1])
    expect(result.gcExposed).to.equal(true)
    expect(result.minutes).to.have.lengthOf(MINUTES)
    // every kind of disruption happened
    expect([...new Set(result.faults.map((d: any) => d.kind))].sort()).to.include.members(['kill', 'reset', 'sigstop'])
    expect(result.minutes.flatMap((m: any) => m.disruptions).some((d: string) => d.startsWith('saturate'))).to.equal(true)
    // the checks ran and passed, every minute
    for (const m of result.minutes) {
      expect(m.checks, `minute ${m.minute}: ${m.failed.join('; ')}\n${output}`).to.include({ lost: true, stalls: true, growth: true, goProcesses: true })
    }
    expect(result.checks.growthChecked).to.equal(true)
    expect(result.checks.unexplainedLostRequests, output).to.equal(0)
    expect(result.checks.stalledAtEnd, output).to.equal(0)
    expect(result.checks.goProcessesStarted).to.be.at.least(3, 'two go peers and one restarted after the kill')
    expect(result.checks.goProcessesLeftAtEnd).to.equal(0)
    expect(result.lost.every((l: any) => l.explainedBy != null)).to.equal(true)
    // requests went on through it all
    expect(result.minutes.every((m: any) => m.ok > 20)).to.equal(true)
    // eslint-disable-next-line no-console
    console.info(`      event-loop p99 per minute: ${result.minutes.map((m: any) => `${m.lagP99.toFixed(0)} ms`).join(', ')}`)
  })
})
