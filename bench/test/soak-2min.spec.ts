/**
 * The soak's 2-minute version, in `npm test` (alone: `npm run test:soak -w
 * bench`): go peers, one cycle of every disruption (SIGSTOP, SIGKILL and a
 * restart, a reset of every proxied connection, every core saturated), and
 * every check of the 30-minute run: each lost request explained by the
 * death of (or a fault on) the connection it ran on, nothing stalled,
 * resources flat after the warm-up (array buffers: the retained floor of
 * the one disruption cycle, which ends with minute 2, and the peak bounded
 * by the queues' caps), memory drained back at the end, no go process left
 * behind.
 *
 * For a loaded machine: the go peer is built before the soak starts (its
 * first build downloads modules: minutes the soak's clock must not count),
 * the soak gets twice its length to finish before it is stopped, and the
 * event-loop lag, a wall-clock figure of a shared machine, is printed, not
 * asserted (the 30-minute soak checks it).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildGoPeer, goMissingReason, requireOrSkip } from '@x/interop'
import { expect } from 'aegir/chai'
import { DRAIN_WAIT } from '../soak/lib/memory.ts'

const SOAK = join(dirname(fileURLToPath(import.meta.url)), '..', 'soak', 'soak.ts')
const MINUTES = 2
/**
 * The soak ends by itself within MINUTES plus 30 s to settle, 10 s of grace,
 * at most `DRAIN_WAIT` for memory to drain and its stop; it is stopped
 * (SIGTERM) after this
 */
const STOP_AFTER = MINUTES * 60_000 + 30_000 + 10_000 + DRAIN_WAIT + 90_000
/** ... and killed if even that does not end it */
const KILL_AFTER = STOP_AFTER + 60_000

describe('soak (2 minutes)', function () {
  this.timeout(KILL_AFTER + 60_000)
  let dir: string

  before(async function () {
    requireOrSkip(this, 'the soak with go peers', goMissingReason())
    // a clean clone builds the go peer here (interop, which would build it too, runs after this suite)
    this.timeout(10 * 60_000)
    await buildGoPeer()
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
      const term = setTimeout(() => child.kill('SIGTERM'), STOP_AFTER)
      const kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER)
      child.on('close', (c) => {
        clearTimeout(term)
        clearTimeout(kill)
        resolve(c)
      })
    })
    const written = await readFile(out, 'utf8').catch(() => { throw new Error(`the soak wrote no results (exit ${code}):\n${output}`) })
    const result = JSON.parse(written)

    // exit 0 when every check passed, 1 when one failed (2: the soak itself broke)
    expect(code, output).to.be.oneOf([0, 1])
    expect(result.interrupted, output).to.equal(null)
    expect(result.gcExposed).to.equal(true)
    expect(result.minutes).to.have.lengthOf(MINUTES)
    // every kind of disruption happened
    expect([...new Set(result.faults.map((d: any) => d.kind))].sort()).to.include.members(['kill', 'reset', 'sigstop'])
    expect(result.minutes.flatMap((m: any) => m.disruptions).some((d: string) => d.startsWith('saturate'))).to.equal(true)
    // the checks ran and passed, every minute
    for (const m of result.minutes) {
      expect(m.checks, `minute ${m.minute}: ${m.failed.join('; ')}\n${output}`).to.include({ lost: true, stalls: true, growth: true, peak: true, goProcesses: true })
    }
    expect(result.checks.growthChecked).to.equal(true)
    // array buffers' retained floor was judged over the whole disruption cycle (it ends with minute 2)
    expect(result.minutes[MINUTES - 1].growth.arrayBuffers, output).to.be.a('number')
    // after the load, the faults and the busy processes stopped, array buffers and heap came back within 10 % of the baseline
    expect(result.checks.drain, output).to.include({ passed: true })
    expect(result.checks.unexplainedLostRequests, output).to.equal(0)
    expect(result.checks.stalledAtEnd, output).to.equal(0)
    expect(result.checks.disruptionsFailed, output).to.deep.equal([])
    expect(result.checks.goProcessesStarted, `two go peers and one restarted after the kill\n${output}`).to.be.at.least(3)
    expect(result.checks.goProcessesLeftAtEnd).to.equal(0)
    expect(result.lost.every((l: any) => l.explainedBy != null)).to.equal(true)
    // requests went on through it all
    expect(result.minutes.every((m: any) => m.ok > 20)).to.equal(true)
    // eslint-disable-next-line no-console
    console.info(`      event-loop p99 per minute: ${result.minutes.map((m: any) => `${m.lagP99.toFixed(0)} ms`).join(', ')}`)
  })
})
