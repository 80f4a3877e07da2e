import { expect } from 'aegir/chai'
import { evaluateMinute } from '../soak/lib/evaluate.ts'
import { ARRAY_BUFFERS_FLOOR, awaitDrain, bulkStall, cycleWindow, judgeDrain, peakAllowance, PROXY_QUEUE_BYTES, retainedFloorGrowth, SOCKET_READ_BYTES } from '../soak/lib/memory.ts'
import { buildSchedule } from '../soak/lib/schedule.ts'
import type { MinuteInput } from '../soak/lib/evaluate.ts'
import type { ResourceSample } from '../soak/lib/resources.ts'

const MB = 1024 * 1024
const at = (t: number, arrayBuffers: number, heapUsed = 100 * MB): ResourceSample => ({ t, heapUsed, arrayBuffers, rss: 0, handles: 80, timers: 30, fds: 120 })
/** A series in MB, one sample every 10 s from `t0` */
const series = (mb: number[], t0 = 0): ResourceSample[] => mb.map((v, i) => at(t0 + i * 10_000, v * MB))
/** The quiet baseline: swings of a few MB with the demo link's fault cycle, floor 3.3 MB, highest 6.4 MB */
const BASELINE = series([6.4, 4.4, 5.1, 5.7, 5.7, 3.3])
const ALLOWANCE = 10 * MB

function minute (samples: ResourceSample[], cycleWindow?: ResourceSample[]): MinuteInput {
  return { minute: 12, disruptions: [], ok: 100, retried: 0, lost: [], stalled: 0, samples, baseline: BASELINE, warmingUp: false, lag: { p99: 20, max: 40 }, goProcesses: 2, goLeftBehind: 0, cycleWindow, peakAllowance: ALLOWANCE }
}

/** 5 minutes of samples: the quiet level of the baseline, plus `backlog(i)` MB queued by disruptions, plus `leak` MB a minute */
function cycle (backlog: (i: number) => number, leakPerMinute = 0): ResourceSample[] {
  return Array.from({ length: 30 }, (_, i) => at(i * 10_000, (3.4 + (i % 4) * 0.8 + backlog(i) + leakPerMinute * i / 6) * MB))
}

describe('soak memory rules', () => {
  describe('array buffers: the retained floor over a disruption cycle', () => {
    // a go peer stopped for 30 s, a kill, both cores saturated for 45 s: 3-5 MB queued while each lasts, none of it left after
    const transient = cycle(i => (i >= 2 && i < 5) || (i >= 9 && i < 11) || (i >= 18 && i < 23) ? 4.5 : 0)

    it('a transient backlog that fills every sample of a minute passes (the per-minute floor read it as growth)', () => {
      const busyMinute = transient.slice(18, 23)
      const row = evaluateMinute(minute(busyMinute, transient))
      expect(row.failed).to.deep.equal([])
      expect(row.growth?.arrayBuffers).to.be.closeTo((3.4 - 3.3) * MB / ARRAY_BUFFERS_FLOOR, 1e-9)
    })

    it('a leak raises the floor of the whole cycle and fails', () => {
      // 0.4 MB a minute: 2 MB over the 5 minutes, under the swings
      const leaking = cycle(i => (i >= 18 && i < 23) ? 4.5 : 0, 0.4)
      const later = leaking.map(s => ({ ...s, arrayBuffers: s.arrayBuffers + 2 * MB }))
      const row = evaluateMinute(minute(later.slice(24), later))
      expect(row.failed).to.deep.equal(['arrayBuffers grew 13.1% (limit 10%)'])
      expect(row.checks.growth).to.equal(false)
    })

    it('is not judged before a whole cycle has passed after the baseline', () => {
      const row = evaluateMinute(minute(series([9, 9, 9, 9, 9, 9], 300_000)))
      expect(row.growth?.arrayBuffers).to.equal(null)
      expect(row.failed).to.deep.equal([])
    })

    it('the window is the cycle ending with the minute, by its nominal end (a timer a moment early still gets it), never reaching into the baseline', () => {
      // the 2-minute soak: baseline until 70 s, a 50 s cycle, samples every 5 s from 0.001 s
      const samples = Array.from({ length: 24 }, (_, i) => at(1 + i * 5_000, 4 * MB))
      const init = { minute: 2, to: 120_000, startedAt: 0, interval: 60_000, duration: 120_000, baselineEnd: 70_000, cycle: 50_000 }
      expect(cycleWindow(samples, init)?.map(s => s.t)).to.deep.equal([70_001, 75_001, 80_001, 85_001, 90_001, 95_001, 100_001, 105_001, 110_001, 115_001])
      // the last minute's timer fired 3 ms before its end
      expect(cycleWindow(samples, { ...init, to: 119_997 })?.map(s => s.t)).to.deep.equal([70_001, 75_001, 80_001, 85_001, 90_001, 95_001, 100_001, 105_001, 110_001, 115_001])
      expect(cycleWindow(samples, { ...init, minute: 1, to: 60_000 })).to.equal(undefined)
    })

    it('growth is the lowest of the window over the lowest of the baseline, against at least 16 MB', () => {
      const mb = (values: number[]): number[] => values.map(v => v * MB)
      expect(retainedFloorGrowth(mb([3, 5, 4]), mb([9, 4.6, 7]))).to.be.closeTo(1.6 / 16, 1e-9)
      // a floor over 16 MB is its own measure
      expect(retainedFloorGrowth(mb([30, 50]), mb([33, 60]))).to.be.closeTo(0.1, 1e-9)
    })
  })

  describe('array buffers: the transient peak', () => {
    it('a peak above the baseline\'s highest sample plus what the bounded queues hold fails', () => {
      const cap = 6.4 * MB + ALLOWANCE
      expect(evaluateMinute(minute(series([5, 16.3, 6]))).failed).to.deep.equal([])
      const row = evaluateMinute(minute(series([5, 16.5, 6])))
      expect(row.failed).to.deep.equal([`array buffers peaked at 16.5 MB, over 6.4 MB (the baseline's highest) + 10.0 MB the bounded queues can hold = ${(cap / MB).toFixed(1)} MB`])
      expect(row.checks.peak).to.equal(false)
      expect(row.arrayBuffersPeakMB).to.equal(16.5)
    })

    it('the allowance adds the proxy queues both ways, the bulk transfer stalled for the black hole (3 copies), and the small items in flight', () => {
      const allowance = peakAllowance({ proxied: 3, bulkRate: 64 * 1024, longestStall: 12_000, nodes: 4, maxPending: 256 })
      expect(allowance).to.equal(6 * (PROXY_QUEUE_BYTES + SOCKET_READ_BYTES) + 3 * 64 * 1024 * 12 + 4 * 256 * 1024)
    })
  })

  describe('array buffers: the bulk transfer\'s stall', () => {
    it('is the demo link\'s black hole: a go peer stopped or killed, a reset or busy cores hold none of the bulk\'s bytes', () => {
      // the 30-minute schedule: go peers stopped for 30 s and killed for 15 s, both cores busy for 45 s
      const schedule = buildSchedule(30 * 60_000, 2)
      expect(Math.max(...schedule.disruptions.map(d => d.duration))).to.equal(45_000)
      expect(bulkStall(schedule.disruptions, 12_000)).to.equal(12_000)
      // the 2-minute soak's
      expect(bulkStall(buildSchedule(2 * 60_000, 2).disruptions, 12_000)).to.equal(12_000)
    })
  })

  describe('the drain at the end', () => {
    const baseline = [at(0, 3.3 * MB, 47 * MB), at(1, 6.4 * MB, 47.4 * MB), at(2, 4 * MB, 47.2 * MB)]

    it('passes when array buffers and heap come back within 10 % of the baseline', () => {
      const result = judgeDrain(baseline, at(9, 4.5 * MB, 50 * MB), 3_000)
      expect(result.failed).to.deep.equal([])
      expect(result.passed).to.equal(true)
    })

    it('fails when array buffers stay up, or the heap', () => {
      expect(judgeDrain(baseline, at(9, 5 * MB, 47 * MB), 45_000).failed).to.deep.equal(['array buffers did not drain: 5.0 MB after 45 s, 10.6% over the baseline floor (limit 10%)'])
      expect(judgeDrain(baseline, at(9, 3.3 * MB, 52.1 * MB), 45_000).failed).to.deep.equal(['heap did not drain: 52.1 MB after 45 s, 10.4% over the baseline (limit 10%)'])
    })

    it('waits, sample by sample, for the backlog to drain, and gives up after the bounded wait', async () => {
      let clock = 0
      const sleep = async (ms: number): Promise<void> => { clock += ms }
      const draining = [12, 9, 6, 4.5, 4.5].map(mb => at(0, mb * MB, 47 * MB))
      let n = 0
      const drained = await awaitDrain(baseline, () => draining[n++], { wait: 10_000, poll: 1_000, now: () => clock, sleep })
      expect(drained.passed).to.equal(true)
      expect(n).to.equal(4)
      expect(drained.waited).to.equal(3_000)

      clock = 0
      let taken = 0
      const stuck = await awaitDrain(baseline, () => { taken++; return at(0, 9 * MB, 47 * MB) }, { wait: 10_000, poll: 1_000, now: () => clock, sleep })
      expect(stuck.passed).to.equal(false)
      expect(taken).to.equal(11)
      expect(stuck.failed[0]).to.match(/^array buffers did not drain: 9.0 MB after 10 s/)
    })
  })
})
