/**
 * The batching compare's `high` flood verdict is more than the medians of
 * the trials: the results keep each trial's `high` latencies, the p99 of
 * all of them together and how many trials met the target against their
 * own idle RTT, so a run's slowest trial is seen as well as its median.
 */
import { expect } from 'aegir/chai'
import { sharedCompareRun } from './fixtures/compare-run.ts'

/** The nearest-rank percentile the bench uses */
function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

describe('batching compare: the high flood verdict', function () {
  this.timeout(300_000)

  it('records every trial\'s high latencies, their pooled p99 and the trials that met the target against their own idle RTT', async () => {
    const run = await sharedCompareRun()
    expect(run.code, run.stderr).to.equal(0)
    const loopback = run.results.loopback

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
