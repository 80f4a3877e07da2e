/**
 * The batching compare's `high` flood verdict is more than the medians of
 * the trials: the results keep each trial's `high` latencies, the p99 of
 * all of them together and how many trials met the target against their
 * own idle RTT, so a run's slowest trial is seen as well as its median.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import type { ChildProcess } from 'node:child_process'

const COMPARE = join(dirname(fileURLToPath(import.meta.url)), '..', 'batching', 'compare.ts')

/** The nearest-rank percentile the bench uses */
function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

describe('batching compare: the high flood verdict', function () {
  this.timeout(300_000)
  const children: ChildProcess[] = []

  after(() => {
    for (const child of children) { child.kill('SIGKILL') }
  })

  it('records every trial\'s high latencies, their pooled p99 and the trials that met the target against their own idle RTT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x-batching-flood-verdict-'))
    let loopback: any
    try {
      const out = join(dir, 'compare.json')
      const child = spawn(process.execPath, [COMPARE], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LINKS: '0', MESSAGES: '2000', PER_STREAM_MESSAGES: '200', ROUNDS: '1', FLOOD_TRIALS: '2', RESULTS_FILE: out }
      })
      children.push(child)
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
      child.stdout.resume()
      const code = await new Promise(resolve => child.once('exit', resolve))
      expect(code, stderr).to.equal(0)
      loopback = JSON.parse(await readFile(out, 'utf8')).results.loopback
    } finally {
      await rm(dir, { recursive: true, force: true })
    }

    for (const instance of ['batching', 'batchingNoFlow']) {
      const flood = loopback.floods[instance]
      expect(flood.highs).to.have.lengthOf(2)
      flood.highs.forEach((highs: number[], trial: number) => {
        expect(highs).to.have.lengthOf(flood.n[trial])
        expect(flood.p99[trial]).to.equal(percentile(highs, 99))
      })
      expect(flood.pooledP99).to.equal(percentile(flood.highs.flat(), 99))
      expect(flood.trialsMet).to.equal(flood.p99.filter((p99: number, trial: number) => p99 <= 2 * flood.idle[trial]).length)
    }
  })
})
