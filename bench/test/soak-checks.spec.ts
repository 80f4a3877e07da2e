import { expect } from 'aegir/chai'
import { growth, median, soakPassed } from '../soak/lib/checks.ts'
import { evaluateMinute } from '../soak/lib/evaluate.ts'
import { summarize } from '../soak/lib/report.ts'
import { buildSchedule } from '../soak/lib/schedule.ts'
import type { JudgedLoss } from '../soak/lib/checks.ts'
import type { MinuteInput } from '../soak/lib/evaluate.ts'
import type { ResourceSample } from '../soak/lib/resources.ts'

const MB = 1024 * 1024
const judged = (explainedBy: string | null): JudgedLoss => ({ kind: 'echo', node: 0, peer: 'n1', startedAt: 1, at: 2, error: 'TimeoutError: echo timed out', attempts: [], explainedBy })
const sample = (t: number, heapUsed = 100 * MB, handles = 80, fds = 120, arrayBuffers = 4 * MB): ResourceSample => ({ t, heapUsed, arrayBuffers, rss: 0, handles, timers: 30, fds })

function minute (init: Partial<MinuteInput>): MinuteInput {
  return {
    minute: 5,
    disruptions: [],
    ok: 100,
    retried: 0,
    lost: [],
    stalled: 0,
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
  describe('lost requests and stalls', () => {
    it('an unexplained loss fails the minute, an explained one does not', () => {
      expect(evaluateMinute(minute({ lost: [judged('n1/3 closed')] })).failed).to.deep.equal([])
      const row = evaluateMinute(minute({ lost: [judged(null), judged('n1/3 closed')] }))
      expect(row.lost).to.equal(2)
      expect(row.explained).to.equal(1)
      expect(row.failed).to.deep.equal(['1 lost request(s) not explained by their connection'])
      expect(row.checks.lost).to.equal(false)
    })

    it('a send or request that never settled fails the minute', () => {
      const row = evaluateMinute(minute({ stalled: 2 }))
      expect(row.stalled).to.equal(2)
      expect(row.failed).to.deep.equal(['2 send(s)/request(s) stalled'])
      expect(row.checks.stalls).to.equal(false)
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
      // array buffers: the retained floor of a whole disruption cycle (soak-memory.spec.ts)
      expect(evaluateMinute(minute({ samples: [sample(1)], cycleWindow: [sample(1, 100 * MB, 80, 120, 6 * MB)] })).failed).to.deep.equal(['arrayBuffers grew 12.5% (limit 10%)'])
      expect(evaluateMinute(minute({ samples: [sample(1)], cycleWindow: [sample(1, 100 * MB, 80, 120, 5.5 * MB)] })).failed).to.deep.equal([])
      expect(evaluateMinute(minute({ samples: [sample(1, 111 * MB)] })).checks).to.deep.equal({ lost: true, stalls: true, growth: false, peak: true, goProcesses: true, lag: true })
    })

    it('handles and fds are judged beyond the sockets of the connections sampled, and connections grow 10 % at most', () => {
      // a socket per connection end (both ends of a connection between two js nodes are here) and two more in the fault proxy per proxied connection
      const withConnections = (t: number, handles: number, fds: number, connections: number, proxied: number): ResourceSample =>
        ({ ...sample(t, 100 * MB, handles, fds), connections: { byNode: [connections / 4, connections / 4, connections / 4, connections / 4], toGo: [], proxied } })
      const baseline = [withConnections(0, 70, 100, 56, 2), withConnections(1, 70, 100, 56, 2)]
      // the pool opened more connections (up to maxConnectionsPerPeer): +8 handles and fds, every one a connection's socket
      const toppedUp = evaluateMinute(minute({ baseline, samples: [withConnections(2, 78, 108, 60, 3)] }))
      expect(toppedUp.failed).to.deep.equal([])
      expect(toppedUp.growth?.connections).to.be.closeTo(5 / 58, 1e-9)
      // sockets nothing accounts for: a leak
      expect(evaluateMinute(minute({ baseline, samples: [withConnections(2, 78, 108, 56, 2)] })).failed).to.deep.equal(['handles grew 16.0% (limit 10%)', 'fds grew 16.0% (limit 10%)'])
      // connections piling up: a leak, even with their sockets accounted for
      expect(evaluateMinute(minute({ baseline, samples: [withConnections(2, 78, 108, 64, 2)] })).failed).to.deep.equal(['connections grew 13.8% (limit 10%)'])
    })

    it('connections the fault proxy holds open are judged too: their sockets are subtracted from handles and fds', () => {
      const withProxied = (t: number, handles: number, fds: number, proxied: number): ResourceSample =>
        ({ ...sample(t, 100 * MB, handles, fds), connections: { byNode: [14, 14, 14, 14], toGo: [], proxied } })
      const baseline = [withProxied(0, 70, 100, 2), withProxied(1, 70, 100, 2)]
      // 6 proxied connections the proxy never let go of: 12 sockets, every one subtracted
      const row = evaluateMinute(minute({ baseline, samples: [withProxied(2, 82, 112, 8)] }))
      expect(row.growth?.handles).to.equal(0)
      expect(row.failed).to.deep.equal(['connections grew 10.3% (limit 10%)'])
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

  it('a row shows the median number of connections sampled, or none when they were not', () => {
    const withConnections = (t: number, byNode: number[]): ResourceSample => ({ ...sample(t), connections: { byNode, toGo: [], proxied: 0 } })

    expect(evaluateMinute(minute({ samples: [withConnections(1, [10, 10]), withConnections(2, [12, 12]), withConnections(3, [20, 20])] })).connections).to.equal(24)
    expect(evaluateMinute(minute({})).connections).to.be.NaN()
  })

  it('the soak passes only when every check passed and every disruption ran (a kill whose restart failed left its fault open, explaining every later loss to that peer)', () => {
    const ok = { interrupted: null, unexplainedLostRequests: 0, stalledAtEnd: 0, goProcessesLeftAtEnd: 0, minutesFailed: [], growthChecked: true, drain: { passed: true }, disruptionsFailed: [], gcExposed: true }

    expect(soakPassed(ok)).to.equal(true)
    expect(soakPassed({ ...ok, disruptionsFailed: ['kill go0 at 570 s: PeerCommandError: the peer process did not start'] })).to.equal(false)
    expect(soakPassed({ ...ok, interrupted: 'SIGTERM' })).to.equal(false)
    expect(soakPassed({ ...ok, unexplainedLostRequests: 1 })).to.equal(false)
    expect(soakPassed({ ...ok, stalledAtEnd: 1 })).to.equal(false)
    expect(soakPassed({ ...ok, goProcessesLeftAtEnd: 1 })).to.equal(false)
    expect(soakPassed({ ...ok, minutesFailed: [7] })).to.equal(false)
    expect(soakPassed({ ...ok, growthChecked: false })).to.equal(false)
    // memory that did not come back after the load stopped, or a drain never run
    expect(soakPassed({ ...ok, drain: { passed: false } })).to.equal(false)
    expect(soakPassed({ ...ok, drain: null })).to.equal(false)
    // run without --expose-gc: heap and array buffers were sampled with their garbage, the baseline's too (a baseline read high passes growth)
    expect(soakPassed({ ...ok, gcExposed: false })).to.equal(false)
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

    it('2 minutes: one cycle of every disruption after 45 s of warm-up (array buffers level off), none overlapping', () => {
      const s = buildSchedule(2 * 60_000, 2)
      expect(s.warmup).to.equal(45_000)
      expect(s.disruptions.map(d => d.kind)).to.deep.equal(['sigstop', 'kill', 'reset', 'saturate'])
      for (let i = 1; i < s.disruptions.length; i++) {
        expect(s.disruptions[i].at).to.be.greaterThan(s.disruptions[i - 1].at + s.disruptions[i - 1].duration)
      }
    })

    it('no disruption falls in the baseline window right after the warm-up (the 30-minute soak took its baseline with go0 stopped)', () => {
      for (const minutes of [2, 5, 30]) {
        const s = buildSchedule(minutes * 60_000, 2)
        expect(s.baselineEnd, `${minutes} min`).to.be.greaterThan(s.warmup)
        expect(s.disruptions.every(d => d.at >= s.baselineEnd), `${minutes} min`).to.equal(true)
        expect(s.disruptions.map(d => d.kind), `${minutes} min`).to.include.members(['sigstop', 'kill', 'reset', 'saturate'])
      }
      expect(buildSchedule(30 * 60_000, 2).baselineEnd).to.equal(4 * 60_000)
    })

    it('refuses a run shorter than a minute', () => {
      expect(() => buildSchedule(30_000, 2)).to.throw(RangeError)
    })
  })
})
