/**
 * Soak: the demo swarm (js nodes with pool, health, pubsub discovery and
 * connectivity, an echo workload, the fault proxy's latency / black hole
 * cycle on one link) plus go-libp2p peers that every js node pools
 * connections to, for `--minutes` (default 30). Each cycle after the
 * warm-up stops one go peer (SIGSTOP, then SIGCONT), kills another (SIGKILL,
 * then the same key on a new port), resets every proxied connection and
 * saturates every core with busy processes (lib/schedule.ts).
 *
 * Every minute it checks (lib/evaluate.ts): no request lost (echo requests
 * after their retries, batched messages and requests) but those in flight to
 * a peer that was stopped, killed or cut off at the time, or on a connection
 * that closed while they were in flight (each counted and explained); heap, array buffers, handles and file descriptors
 * within 10 % of the baseline taken right after the warm-up; no go process
 * left behind; event-loop p99 lag under 1 s. It prints a row per minute,
 * then the table, writes `bench/results/soak.json` (or `--out`) and exits 1
 * when a check failed.
 *
 *   npm run bench -- soak                      30 minutes
 *   npm run bench -- soak --minutes 5 --go 3
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
// the demo's swarm, built (a private workspace without an exports map)
import { Swarm } from '@x/demo/dist/src/swarm.js'
import { CpuBurn } from './lib/cpu.ts'
import { evaluateMinute } from './lib/evaluate.ts'
import { explain, EXPLAIN_GRACE, MAX_GROWTH, MAX_LAG_P99 } from './lib/checks.ts'
import { GoFleet } from './lib/go-fleet.ts'
import { parseSoakOptions } from './lib/options.ts'
import { HEADER, renderRow, renderTable } from './lib/report.ts'
import { childProcesses, isAlive, LagMonitor, sampleResources } from './lib/resources.ts'
import { buildSchedule } from './lib/schedule.ts'
import type { DisruptionWindow, LostRequest } from './lib/checks.ts'
import type { MinuteRow } from './lib/report.ts'
import type { ResourceSample } from './lib/resources.ts'
import type { ScheduledDisruption } from './lib/schedule.ts'

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')
const DIAL_TIMEOUT = 10_000
const PHASE_POLL = 250
/** Connection closes kept as windows (a bound; a 30-minute soak closes a few hundred) */
const MAX_CLOSE_WINDOWS = 100_000
/** The baseline window after the warm-up: a minute, or a third of what is left in short runs */
const MAX_BASELINE = 60_000

const options = parseSoakOptions(process.argv.slice(2), RESULTS)
const schedule = buildSchedule(options.duration, options.goPeers)
const baselineEnd = schedule.warmup + Math.min(MAX_BASELINE, Math.round((options.duration - schedule.warmup) / 3))
const startedAt = Date.now()
const elapsed = (): string => { const s = Math.round((Date.now() - startedAt) / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` }
const say = (line: string): void => { process.stdout.write(`[${elapsed()}] ${line}\n`) }

const keyDir = mkdtempSync(join(tmpdir(), 'x-soak-'))
const fleet = new GoFleet(options.goPeers, keyDir, options.duration + 5 * 60_000)
const cpu = new CpuBurn()
const lag = new LagMonitor()
const lost: LostRequest[] = []
const windows: DisruptionWindow[] = []
const samples: ResourceSample[] = []
const rows: MinuteRow[] = []
const started: Array<{ at: number, label: string }> = []
const timers: Array<ReturnType<typeof setTimeout>> = []
let swarm: Swarm | undefined

async function dialGoPeer (index: number): Promise<void> {
  const peer = fleet.peers[index]
  const results = await Promise.allSettled((swarm?.nodes ?? []).map(async node => node.services.pool.dial(multiaddr(peer.addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT) })))
  const failed = results.filter(r => r.status === 'rejected')

  if (failed.length > 0) {
    say(`go${index}: ${failed.length} of ${results.length} js nodes could not dial it: ${(failed[0] as PromiseRejectedResult).reason?.message}`)
  }
}

/** Windows in which requests on the proxied link (both directions) may be lost */
function linkWindow (kind: string, start: number, end: number, detail: string): DisruptionWindow[] {
  const link = swarm?.link

  if (swarm == null || link == null) {
    return []
  }

  return [
    { kind, target: swarm.nodes[link.server].peerId.toString(), from: link.client, start, end, detail },
    { kind, target: swarm.nodes[link.client].peerId.toString(), from: link.server, start, end, detail }
  ]
}

async function disrupt (d: ScheduledDisruption): Promise<void> {
  const now = Date.now()

  switch (d.kind) {
    case 'sigstop': {
      const peer = fleet.peers[d.goPeer ?? 0]
      const window: DisruptionWindow = { kind: 'sigstop', target: peer.peerId, start: now, end: Infinity, detail: `go${peer.index} stopped (SIGSTOP) for ${d.duration / 1000} s` }
      windows.push(window)
      started.push({ at: now, label: `sigstop go${peer.index}` })
      say(window.detail)
      fleet.pause(peer.index)
      await new Promise(resolve => setTimeout(resolve, d.duration))
      fleet.resume(peer.index)
      window.end = Date.now()
      say(`go${peer.index} resumed (SIGCONT)`)
      break
    }
    case 'kill': {
      const peer = fleet.peers[d.goPeer ?? 0]
      const window: DisruptionWindow = { kind: 'kill', target: peer.peerId, start: now, end: Infinity, detail: `go${peer.index} killed (SIGKILL), restarted after ${d.duration / 1000} s` }
      windows.push(window)
      started.push({ at: now, label: `kill go${peer.index}` })
      say(window.detail)
      await fleet.kill(peer.index)
      await new Promise(resolve => setTimeout(resolve, d.duration))
      await fleet.start(peer.index)
      await dialGoPeer(peer.index)
      window.end = Date.now()
      say(`go${peer.index} back on ${peer.addr}`)
      break
    }
    case 'reset': {
      const count = swarm?.link?.proxy.connections.length ?? 0
      started.push({ at: now, label: 'reset' })
      windows.push(...linkWindow('reset', now, now, `${count} proxied connections reset`))
      swarm?.link?.proxy.resetConnections()
      say(`reset ${count} proxied connections`)
      break
    }
    case 'saturate': {
      const pids = cpu.start(d.duration, options.cores)
      started.push({ at: now, label: `saturate x${pids.length}` })
      say(`${pids.length} busy processes for ${d.duration / 1000} s`)
      break
    }
  }
}

/**
 * Every connection a js node sees close is a window for the requests that
 * node had in flight to that peer at that moment (no grace: the request
 * must have started before the close): health replaces and closes dead or
 * slow connections, and a request on one dies with it.
 */
function watchConnectionCloses (): void {
  let kept = 0
  swarm?.nodes.forEach((node, i) => {
    node.addEventListener('connection:close', (evt) => {
      const conn = evt.detail
      const now = Date.now()

      if (kept++ < MAX_CLOSE_WINDOWS) {
        windows.push({ kind: 'connection closed', target: conn.remotePeer.toString(), from: i, start: now, end: now, grace: 0, detail: `n${i}'s ${conn.direction} connection ${conn.id} to ${conn.remotePeer.toString().slice(-8)} closed (${conn.status})` })
      }
    })
  })
}

/** Black-hole phases of the demo's fault cycle become windows on the proxied link */
function watchFaultCycle (): void {
  let open: DisruptionWindow[] = []
  let last = 'healthy'

  timers.push(setInterval(() => {
    const phase = swarm?.faultCycle?.phase ?? 'healthy'

    if (phase === last) {
      return
    }

    if (phase === 'blackhole') {
      open = linkWindow('blackhole', Date.now(), Infinity, 'black hole on one proxied connection')
      windows.push(...open)
      started.push({ at: Date.now(), label: 'blackhole' })
    } else if (last === 'blackhole') {
      open.forEach(w => { w.end = Date.now() })
      open = []
    }

    last = phase
  }, PHASE_POLL))
}

function goLeftBehind (): { live: number, leftBehind: number } {
  const live = fleet.livePids()
  const leftBehind = fleet.pids.filter(pid => !live.includes(pid) && isAlive(pid)).length +
    childProcesses('go-peer').filter(pid => !live.includes(pid)).length
  return { live: live.filter(isAlive).length, leftBehind }
}

let lastTotals = { ok: 0, retried: 0 }
/** The signal that ended the run early, if one did */
let interrupted: string | undefined

function check (minute: number, from: number, to: number): void {
  const totals = swarm?.workload.totals() ?? { ok: 0, failed: 0, retried: 0 }
  const go = goLeftBehind()
  const row = evaluateMinute({
    minute,
    disruptions: started.filter(s => s.at >= from && s.at < to).map(s => s.label),
    ok: totals.ok - lastTotals.ok,
    retried: totals.retried - lastTotals.retried,
    lost: lost.filter(l => l.at >= from && l.at < to),
    windows,
    samples: samples.filter(s => s.t >= from && s.t < to),
    baseline: samples.filter(s => s.t - startedAt >= schedule.warmup && s.t - startedAt < baselineEnd),
    warmingUp: to - startedAt <= baselineEnd,
    lag: lag.take(),
    goProcesses: go.live,
    goLeftBehind: go.leftBehind
  })
  lastTotals = totals
  rows.push(row)
  process.stdout.write(`${renderRow(row)}\n`)
}

async function main (): Promise<number> {
  say(`soak: ${options.duration / 60_000} min, ${options.nodes} js nodes, ${options.goPeers} go peers; warm-up ${schedule.warmup / 1000} s, baseline until ${baselineEnd / 1000} s, cycle ${schedule.cycle / 1000} s, ${schedule.disruptions.length} disruptions`)
  await fleet.startAll()
  say(`go peers: ${fleet.peers.map(p => `go${p.index} ${p.peerId}`).join(', ')}`)
  swarm = await Swarm.start({
    nodes: options.nodes,
    faults: true,
    // the dashboard's RTT/score history is not needed here
    sampleInterval: 3_600_000,
    onRequestFailure: (f) => { lost.push({ kind: 'echo', ...f }) },
    onTrafficFailure: (f) => { lost.push(f) }
  })
  say(`swarm: ${swarm.nodes.length} js nodes, fault link n${swarm.link?.client} -> n${swarm.link?.server}`)
  await Promise.all(fleet.peers.map(async p => { await dialGoPeer(p.index) }))
  watchFaultCycle()
  watchConnectionCloses()

  for (const d of schedule.disruptions) {
    timers.push(setTimeout(() => {
      disrupt(d).catch(err => { say(`disruption ${d.kind} failed: ${err.stack ?? err}`) })
    }, startedAt + d.at - Date.now()))
  }

  timers.push(setInterval(() => { samples.push(sampleResources()) }, options.sampleInterval))
  process.stdout.write(`${HEADER}\n`)
  let minute = 0

  await new Promise<void>(resolve => {
    // Ctrl-C or a kill: stop at once, check the minute so far, still write the results and end every go peer
    const onSignal = (signal: string): void => {
      interrupted = signal
      say(`${signal}: stopping early`)
      const from = startedAt + minute * options.checkInterval

      if (Date.now() - from > options.sampleInterval) {
        check(++minute, from, Date.now())
      }

      resolve()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)

    const tick = (): void => {
      const from = startedAt + minute * options.checkInterval
      const to = Math.min(from + options.checkInterval, startedAt + options.duration)
      check(++minute, from, to)

      if (to >= startedAt + options.duration) {
        resolve()
      } else {
        timers.push(setTimeout(tick, Math.min(to + options.checkInterval, startedAt + options.duration) - Date.now()))
      }
    }
    timers.push(setTimeout(tick, Math.min(options.checkInterval, options.duration)))
  })

  return finish()
}

async function finish (): Promise<number> {
  timers.forEach(t => { clearTimeout(t); clearInterval(t) })
  say('stopping the swarm and the go peers')
  await swarm?.stop()
  await fleet.stopAll()
  cpu.stop()
  lag.stop()
  rmSync(keyDir, { recursive: true, force: true })

  // after everything is stopped: not one go process of ours may be alive
  await new Promise(resolve => setTimeout(resolve, 500))
  const leftAtEnd = fleet.pids.filter(isAlive).length + childProcesses('go-peer').length
  const explainedLost = lost.map(l => ({ ...l, explainedBy: explain(l, windows)?.detail ?? null }))
  const unexplained = explainedLost.filter(l => l.explainedBy == null)
  const growthOf = (k: 'heap' | 'arrayBuffers' | 'handles' | 'fds'): number | null => rows.some(r => r.growth != null) ? Math.max(...rows.map(r => r.growth?.[k] ?? -Infinity)) : null
  const pctOf = (x: number | null): string => x == null ? 'n/a (no minute after the baseline)' : `${(x * 100).toFixed(1)}%`
  const checks = {
    lostRequests: lost.length,
    unexplainedLostRequests: unexplained.length,
    maxGrowth: { heap: growthOf('heap'), arrayBuffers: growthOf('arrayBuffers'), handles: growthOf('handles'), fds: growthOf('fds') },
    goProcessesStarted: fleet.pids.length,
    goProcessesLeftAtEnd: leftAtEnd,
    maxLagP99: Math.max(...rows.map(r => r.lagP99)),
    minutesFailed: rows.filter(r => r.failed.length > 0).map(r => r.minute),
    growthChecked: rows.some(r => r.growth != null)
  }
  const pass = interrupted == null && checks.unexplainedLostRequests === 0 && leftAtEnd === 0 && checks.minutesFailed.length === 0 && checks.growthChecked
  const totals = swarm?.workload.totals()

  process.stdout.write(`\n${renderTable(rows)}\n\n`)
  process.stdout.write(`requests ok ${totals?.ok} (retried ${totals?.retried}), lost ${lost.length}: ${lost.length - unexplained.length} explained, ${unexplained.length} unexplained\n`)
  for (const l of unexplained.slice(0, 10)) {
    process.stdout.write(`  unexplained ${l.kind ?? ''}: n${l.node} -> ${l.peer} at ${((l.at - startedAt) / 1000).toFixed(1)} s (started ${((l.startedAt - startedAt) / 1000).toFixed(1)} s): ${l.error}\n`)
  }
  process.stdout.write(`go processes started ${fleet.pids.length}, alive after stop ${leftAtEnd}; max growth heap ${pctOf(checks.maxGrowth.heap)}, array buffers ${pctOf(checks.maxGrowth.arrayBuffers)}, handles ${pctOf(checks.maxGrowth.handles)}, fds ${pctOf(checks.maxGrowth.fds)}; max event-loop p99 ${checks.maxLagP99.toFixed(0)} ms\n`)
  process.stdout.write(`soak ${pass ? 'passed' : 'FAILED'}${interrupted != null ? ` (interrupted by ${interrupted} after ${((Date.now() - startedAt) / 60_000).toFixed(1)} min)` : ''}\n`)

  mkdirSync(dirname(options.out), { recursive: true })
  writeFileSync(options.out, JSON.stringify({
    date: new Date(startedAt).toISOString(),
    node: process.version,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    options,
    limits: { maxGrowth: MAX_GROWTH, maxLagP99: MAX_LAG_P99, explainGrace: EXPLAIN_GRACE },
    schedule,
    baselineEnd,
    minutes: rows,
    checks,
    pass,
    interrupted: interrupted ?? null,
    ranFor: Date.now() - startedAt,
    disruptions: windows.map(w => ({ ...w, start: w.start - startedAt, end: Number.isFinite(w.end) ? w.end - startedAt : null })),
    lost: explainedLost.map(l => ({ ...l, startedAt: l.startedAt - startedAt, at: l.at - startedAt })),
    samples: samples.map(s => ({ ...s, t: s.t - startedAt }))
  }, null, 2) + '\n')
  say(`wrote ${options.out}`)
  return pass ? 0 : 1
}

main().then(code => { process.exit(code) }, async (err) => {
  process.stderr.write(`soak failed: ${err.stack ?? err}\n`)
  timers.forEach(t => { clearTimeout(t); clearInterval(t) })
  cpu.stop()
  await fleet.stopAll().catch(() => {})
  rmSync(keyDir, { recursive: true, force: true })
  process.exit(2)
})
