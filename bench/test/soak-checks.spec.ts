import { expect } from 'aegir/chai'
import { explain, growth, median } from '../soak/lib/checks.ts'
import { evaluateMinute } from '../soak/lib/evaluate.ts'
import { summarize } from '../soak/lib/report.ts'
import { buildSchedule } from '../soak/lib/schedule.ts'
import type { DisruptionWindow, LostRequest } from '../soak/lib/checks.ts'
import type { MinuteInput } from '../soak/lib/evaluate.ts'
import type { ResourceSample } from '../soak/lib/resources.ts'

const MB = 1024 * 1024
const lostTo = (peer: string, startedAt: number, at: number, node = 0): LostRequest => ({ node, peer, startedAt, at, error: 'TimeoutError: echo timed out' })
const sample = (t: number, heapUsed = 100 * MB, handles = 80, fds = 120, arrayBuffers = 4 * MB): ResourceSample => ({ t, heapUsed, arrayBuffers, rss: 0, handles, timers: 30, fds })

function minute (init: Partial<MinuteInput>): MinuteInput {
  return {
    minute: 5,
    disruptions: [],
    ok: 100,
    retried: 0,
    lost: [],
    windows: [],
    samples: [sample(1), sample(2), sample(3)],
    baseline: [sample(0), sample(0), sample(0)],
    warmingUp: false,
    lag: { p99: 20, max: 40 },
    goProcesses: 2,
    goLeftBehind: 0,
    ...init
  }
}

describe('soak checks', () => {
  describe('lost requests', () => {
    const stop: DisruptionWindow = { kind: 'sigstop', target: 'go0', start: 10_000, end: 30_000, detail: 'go0 stopped' }
    const link: DisruptionWindow = { kind: 'blackhole', target: 'n1', from: 3, start: 50_000, end: 60_000, detail: 'black hole' }

    it('a request in flight to a stopped peer is explained by the stop', () => {
      expect(explain(lostTo('go0', 8_000, 20_000), [stop])).to.equal(stop)
      // started while it was stopped, failed after it resumed (within the grace)
      expect(explain(lostTo('go0', 35_000, 45_000), [stop])).to.equal(stop)
    })

    it('a request to another peer, or outside the window and its grace, is not explained', () => {
      expect(explain(lostTo('go1', 8_000, 20_000), [stop])).to.equal(undefined)
      expect(explain(lostTo('go0', 1_000, 9_000), [stop]), 'failed before the stop').to.equal(undefined)
      expect(explain(lostTo('go0', 41_000, 50_000), [stop]), 'started after the grace').to.equal(undefined)
    })

    it('a window on one link explains only requests from its node', () => {
      expect(explain(lostTo('n1', 49_000, 55_000, 3), [link])).to.equal(link)
      expect(explain(lostTo('n1', 49_000, 55_000, 2), [link])).to.equal(undefined)
    })

    it('a connection that closed explains only the requests in flight on it at that moment', () => {
      const closed: DisruptionWindow = { kind: 'connection closed', target: 'n1', from: 3, start: 70_000, end: 70_000, grace: 0, detail: 'closed' }
      expect(explain(lostTo('n1', 67_400, 70_100, 3), [closed])).to.equal(closed)
      expect(explain(lostTo('n1', 70_050, 71_000, 3), [closed]), 'started after the close').to.equal(undefined)
      expect(explain(lostTo('n1', 60_000, 69_000, 3), [closed]), 'failed before the close').to.equal(undefined)
      expect(explain(lostTo('n1', 67_400, 70_100, 2), [closed]), 'another node').to.equal(undefined)
    })

    it('an open window (peer still down) explains everything after its start', () => {
      expect(explain(lostTo('go0', 100_000, 200_000), [{ ...stop, end: Infinity }])).to.not.equal(undefined)
    })

    it('an unexplained loss fails the minute, an explained one does not', () => {
      expect(evaluateMinute(minute({ lost: [lostTo('go0', 8_000, 20_000)], windows: [stop] })).failed).to.deep.equal([])
      const row = evaluateMinute(minute({ lost: [lostTo('go1', 8_000, 20_000), lostTo('go0', 8_000, 20_000)], windows: [stop] }))
      expect(row.lost).to.equal(2)
      expect(row.explained).to.equal(1)
      expect(row.failed).to.deep.equal(['1 lost request(s) not explained by a disruption'])
    })
  })

  describe('resources flat after the warm-up', () => {
    it('growth compares medians, so one spike is not a leak', () => {
      expect(median([3, 1, 2])).to.equal(2)
      expect(median([4, 1, 2, 3])).to.equal(2.5)
      expect(growth([100, 100, 100], [100, 500, 104])).to.equal(0.04)
    })

    it('a small baseline is measured against the floor', () => {
      expect(growth([10, 10], [13, 13])).to.be.closeTo(0.3, 1e-9)
      expect(growth([10, 10], [13, 13], 50)).to.be.closeTo(0.06, 1e-9)
    })

    it('10 % growth of the heap, array buffers, handles or fds fails the minute', () => {
      expect(evaluateMinute(minute({ samples: [sample(1, 109 * MB)] })).failed).to.deep.equal([])
      expect(evaluateMinute(minute({ samples: [sample(1, 111 * MB)] })).failed).to.deep.equal(['heap grew 11.0% (limit 10%)'])
      expect(evaluateMinute(minute({ samples: [sample(1, 100 * MB, 80, 140)] })).failed).to.deep.equal(['fds grew 16.7% (limit 10%)'])
      expect(evaluateMinute(minute({ samples: [sample(1, 100 * MB, 90)] })).failed).to.deep.equal(['handles grew 12.5% (limit 10%)'])
      // array buffers: against at least 16 MB (one in-flight buffer on a few MB is not a leak)
      expect(evaluateMinute(minute({ samples: [sample(1, 100 * MB, 80, 120, 6 * MB)] })).failed).to.deep.equal(['arrayBuffers grew 12.5% (limit 10%)'])
      expect(evaluateMinute(minute({ samples: [sample(1, 100 * MB, 80, 120, 5.5 * MB)] })).failed).to.deep.equal([])
      expect(evaluateMinute(minute({ samples: [sample(1, 100 * MB, 80, 120, 6 * MB)] })).checks).to.deep.equal({ lost: true, growth: false, goProcesses: true, lag: true })
    })

    it('array buffers: swings with data in flight pass, a rising floor fails', () => {
      const swinging = [4, 12, 5, 14, 4.5, 13].map((mb, i) => sample(i, 100 * MB, 80, 120, mb * MB))
      expect(evaluateMinute(minute({ samples: swinging })).failed).to.deep.equal([])
      const rising = [6.5, 12, 7, 14, 6.8, 13].map((mb, i) => sample(i, 100 * MB, 80, 120, mb * MB))
      expect(evaluateMinute(minute({ samples: rising })).failed).to.deep.equal(['arrayBuffers grew 15.6% (limit 10%)'])
    })

    it('nothing is compared while warming up', () => {
      const row = evaluateMinute(minute({ warmingUp: true, samples: [sample(1, 500 * MB)] }))
      expect(row.growth).to.equal(null)
      expect(row.failed).to.deep.equal([])
    })
  })

  it('a go process left behind or a p99 lag over 1 s fails the minute', () => {
    expect(evaluateMinute(minute({ goLeftBehind: 1 })).failed).to.deep.equal(['1 go process(es) left behind'])
    expect(evaluateMinute(minute({ lag: { p99: 1_500, max: 2_000 } })).failed).to.deep.equal(['event-loop p99 lag 1500 ms (limit 1000 ms)'])
    expect(evaluateMinute(minute({ lag: { p99: 1_500, max: 2_000 } })).checks.lag).to.equal(false)
  })

  it('the table sums up repeated disruptions', () => {
    expect(summarize(['blackhole', 'kill go1', 'blackhole'])).to.equal('blackhole x2, kill go1')
    expect(summarize([])).to.equal('-')
  })

  describe('schedule', () => {
    it('30 minutes: 3 minutes of warm-up, then 5-minute cycles of every disruption', () => {
      const s = buildSchedule(30 * 60_000, 2)
      expect(s.warmup).to.equal(3 * 60_000)
      expect(s.cycle).to.equal(5 * 60_000)
      expect(s.disruptions.filter(d => d.kind === 'kill')).to.have.lengthOf(5)
      expect(s.disruptions.every(d => d.at >= s.warmup && d.at + d.duration <= 30 * 60_000)).to.equal(true)
      // stopped and killed go peers alternate, and differ within a cycle
      expect(s.disruptions.filter(d => d.kind === 'sigstop').map(d => d.goPeer)).to.deep.equal([0, 1, 0, 1, 0])
      expect(s.disruptions.filter(d => d.kind === 'kill').map(d => d.goPeer)).to.deep.equal([1, 0, 1, 0, 1])
    })

    it('2 minutes: one cycle of every disruption after 30 s of warm-up, none overlapping', () => {
      const s = buildSchedule(2 * 60_000, 2)
      expect(s.warmup).to.equal(30_000)
      expect(s.disruptions.map(d => d.kind)).to.deep.equal(['sigstop', 'kill', 'reset', 'saturate'])
      for (let i = 1; i < s.disruptions.length; i++) {
        expect(s.disruptions[i].at).to.be.greaterThan(s.disruptions[i - 1].at + s.disruptions[i - 1].duration)
      }
    })

    it('refuses a run shorter than a minute', () => {
      expect(() => buildSchedule(30_000, 2)).to.throw(RangeError)
    })
  })
})
