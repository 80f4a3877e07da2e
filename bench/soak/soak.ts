/**
 * Soak: the demo swarm (js nodes with pool, health, pubsub discovery and
 * connectivity, an echo workload, the fault proxy's latency / black hole
 * cycle on one link) plus go-libp2p peers that every js node pools
 * connections to, for `--minutes` (default 30). Each cycle after the
 * warm-up and the baseline window stops one go peer (SIGSTOP, then SIGCONT), kills another (SIGKILL,
 * then the same key on a new port), resets every proxied connection and
 * saturates every core with busy processes (lib/schedule.ts).
 *
 * The traffic is the soak's own (lib/workload.ts, the demo's echo,
 * batching and bulk shapes; the demo's own workload is stopped), so that
 * every request is tracked by the connection it ran on (lib/ledger.ts).
 * Every minute it checks (lib/evaluate.ts, `DEATH_GRACE` after the minute
 * ends, so that a connection that dies just after a request on it failed
 * still counts): no request lost (echo requests after their retries,
 * batched messages and requests) unless each of its attempts is explained
 * by the death of its own connection or a fault injected on that connection
 * (each counted and explained; the close of another connection to the same
 * peer explains nothing); nothing in flight for more than `STALL_AFTER`
 * (a batched send or request that never settles); heap (after a full
 * gc), handles and file descriptors within 10 % of the baseline window
 * (after the warm-up, before the first disruption): handles and fds beyond
 * the sockets of the connections sampled, and those connections (the js
 * nodes' and the fault proxy's) on their own (lib/evaluate.ts); array
 * buffers by their retained floor over a whole disruption cycle and a peak
 * bounded by what the queues can hold (lib/memory.ts, where the rules are
 * argued); no go process left behind; event-loop p99 lag under 1 s. At the
 * end the load, the faults and the busy processes stop and array buffers
 * and heap must drain back within 10 % of the baseline. A disruption that
 * could not be carried out fails the run. It prints a row per minute, then
 * the table, writes `bench/results/soak.json` (or `--out`) and exits 1 when
 * a check failed.
 *
 * `npm run bench -- soak` (30 minutes), `npm run bench -- soak --minutes 5 --go 3`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeHeapSnapshot } from 'node:v8'
import { multiaddr } from '@multiformats/multiaddr'
import { BULK_PROTOCOL, BULK_RATE, ECHO_PROTOCOL } from '@x/demo/dist/src/node.js'
// the demo's swarm, built (a private workspace without an exports map)
import { Swarm } from '@x/demo/dist/src/swarm.js'
import { judge, MAX_GROWTH, MAX_LAG_P99, soakPassed, STALL_AFTER } from './lib/checks.ts'
import { CpuBurn } from './lib/cpu.ts'
import { evaluateMinute } from './lib/evaluate.ts'
import { GoFleet } from './lib/go-fleet.ts'
import { DEATH_GRACE, FAULT_GRACE, Ledger } from './lib/ledger.ts'
import { ARRAY_BUFFERS_FLOOR, awaitDrain, bulkStall, cycleWindow, DRAIN_WAIT, peakAllowance } from './lib/memory.ts'
import { MinuteBook } from './lib/minutes.ts'
import { parseSoakOptions } from './lib/options.ts'
import { HEADER, renderRow, renderTable } from './lib/report.ts'
import { childProcesses, LagMonitor, sampleResources } from './lib/resources.ts'
import { buildSchedule } from './lib/schedule.ts'
import { MAX_PENDING, SoakWorkload } from './lib/workload.ts'
import type { JudgedLoss } from './lib/checks.ts'
import type { Fault, ProxiedSockets } from './lib/ledger.ts'
import type { DrainResult } from './lib/memory.ts'
import type { MinuteEnd } from './lib/minutes.ts'
import type { MinuteRow } from './lib/report.ts'
import type { ConnectionCounts, ResourceSample } from './lib/resources.ts'
import type { ScheduledDisruption } from './lib/schedule.ts'
import type { Loss, PendingItem } from './lib/workload.ts'

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')
const DIAL_TIMEOUT = 10_000
const PHASE_POLL = 250
/** Losses kept (a bound; a healthy run loses a few dozen) */
const MAX_LOSSES = 100_000
/** How long the workload's last requests may take to settle at the end before they count as stalled */
const SETTLE = 30_000
/** The soak's traffic, in the demo's shape (lib/workload.ts) */
const TRAFFIC = { interval: 1_000, focusInterval: 300, attemptTimeout: 2_000, attempts: 4, requestTimeout: 5_000 }
/** Each phase of the demo link's fault cycle (latency, black hole, recovery, healthy), ms: the demo's default, passed so the peak allowance can use it */
const FAULT_PHASE = 12_000

const options = parseSoakOptions(process.argv.slice(2), RESULTS)
const schedule = buildSchedule(options.duration, options.goPeers)
const baselineEnd = schedule.baselineEnd
const startedAt = Date.now()
const elapsed = (): string => { const s = Math.round((Date.now() - startedAt) / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` }
const say = (line: string): void => { process.stdout.write(`[${elapsed()}] ${line}\n`) }

const keyDir = mkdtempSync(join(tmpdir(), 'x-soak-'))
const fleet = new GoFleet(options.goPeers, keyDir, options.duration + 5 * 60_000)
const cpu = new CpuBurn()
const lag = new LagMonitor()
const losses: Loss[] = []
const samples: ResourceSample[] = []
const rows: MinuteRow[] = []
const started: Array<{ at: number, label: string }> = []
const timers: Array<ReturnType<typeof setTimeout>> = []
let swarm: Swarm | undefined
let ledger: Ledger | undefined
let workload: SoakWorkload | undefined
let stalledAtEnd: PendingItem[] = []
/** Array buffers and heap after the load stopped (lib/memory.ts, rule 3); null when the run was interrupted */
let drain: DrainResult | null = null
/** Disruptions that failed (the run fails: a kill not restarted leaves its fault open, explaining every later loss to that peer) */
const disruptionsFailed: string[] = []

async function dialGoPeer (index: number): Promise<void> {
  const peer = fleet.peers[index]
  const results = await Promise.allSettled((swarm?.nodes ?? []).map(async node => node.services.pool.dial(multiaddr(peer.addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT) })))
  const failed = results.filter(r => r.status === 'rejected')

  if (failed.length > 0) {
    say(`go${index}: ${failed.length} of ${results.length} js nodes could not dial it: ${(failed[0] as PromiseRejectedResult).reason?.message}`)
  }
}

/** The sockets of proxied connections (all, or the one with this proxy-side id) */
function proxiedSockets (id?: number): ProxiedSockets[] {
  return (swarm?.link?.proxy.connections ?? [])
    .filter(c => id == null || c.id === id)
    .map(c => ({ clientPort: c.client.remotePort ?? -1, upstreamPort: c.upstream.localPort ?? -1 }))
}

function fault (label: string, f: Omit<Fault, 'start' | 'end'> & { start?: number, end?: number }): Fault {
  const now = Date.now()
  started.push({ at: now, label })
  return ledger?.addFault({ start: now, end: Infinity, ...f }) ?? { start: now, end: now, ...f }
}

async function disrupt (d: ScheduledDisruption): Promise<void> {
  switch (d.kind) {
    case 'sigstop': {
      const peer = fleet.peers[d.goPeer ?? 0]
      const f = fault(`sigstop go${peer.index}`, { kind: 'sigstop', peer: peer.peerId, detail: `go${peer.index} stopped (SIGSTOP) for ${d.duration / 1000} s` })
      say(f.detail)
      fleet.pause(peer.index)
      await new Promise(resolve => setTimeout(resolve, d.duration))
      fleet.resume(peer.index)
      f.end = Date.now()
      say(`go${peer.index} resumed (SIGCONT)`)
      break
    }
    case 'kill': {
      const peer = fleet.peers[d.goPeer ?? 0]
      const f = fault(`kill go${peer.index}`, { kind: 'kill', peer: peer.peerId, detail: `go${peer.index} killed (SIGKILL), restarted after ${d.duration / 1000} s` })
      say(f.detail)
      await fleet.kill(peer.index)
      await new Promise(resolve => setTimeout(resolve, d.duration))
      await fleet.start(peer.index)
      await dialGoPeer(peer.index)
      f.end = Date.now()
      say(`go${peer.index} back on ${peer.addr}`)
      break
    }
    case 'reset': {
      const proxied = proxiedSockets()
      const now = Date.now()
      fault('reset', { kind: 'reset', proxied, end: now, detail: `${proxied.length} proxied connections reset` })
      swarm?.link?.proxy.resetConnections()
      say(`reset ${proxied.length} proxied connections`)
      break
    }
    case 'saturate': {
      // not a fault on any connection: requests must survive it unless their connection dies
      const pids = cpu.start(d.duration, options.cores)
      started.push({ at: Date.now(), label: `saturate x${pids.length}` })
      say(`${pids.length} busy processes for ${d.duration / 1000} s`)
      break
    }
    default:
      say(`unknown disruption ${String(d.kind)}`)
  }
}

/** The demo's fault cycle (latency, then black hole, on one proxied connection) as faults on that connection */
function watchFaultCycle (): void {
  let open: Fault | undefined
  let last = 'healthy'

  timers.push(setInterval(() => {
    const cycle = swarm?.faultCycle
    const phase = cycle?.phase ?? 'healthy'

    if (phase === last) {
      return
    }

    if (open != null) {
      open.end = Date.now()
      open = undefined
    }

    if (phase === 'latency' || phase === 'blackhole') {
      const proxied = proxiedSockets(cycle?.target)
      // the phase began up to one poll ago
      open = fault(phase, { kind: phase, proxied, start: Date.now() - PHASE_POLL, detail: `${phase} on proxied connection #${cycle?.target ?? '?'}` })
    }

    last = phase
  }, PHASE_POLL))
}

/**
 * Diagnosis (`--heap-snapshots`): a heap snapshot after a full gc, once the
 * drain is judged (it blocks the event loop for seconds, which no check may
 * see); the drained heaps of a long and a short run show what grows with time
 */
function heapSnapshot (name: string): void {
  if (options.heapSnapshots == null) {
    return
  }

  mkdirSync(options.heapSnapshots, { recursive: true });
  (globalThis as { gc?(): void }).gc?.()
  say(`heap snapshot ${writeHeapSnapshot(join(options.heapSnapshots, `${name}.heapsnapshot`))}`)
}

function goLeftBehind (): { live: number, leftBehind: number } {
  const children = childProcesses('go-peer')
  return { live: fleet.livePids().filter(pid => children.includes(pid)).length, leftBehind: fleet.leftBehind(children) }
}

function judged (from: number, to: number): JudgedLoss[] {
  return losses.filter(l => l.at >= from && l.at < to).map(l => ledger == null ? { ...l, explainedBy: null } : judge(l, ledger))
}

/** The signal that ended the run early, if one did */
let interrupted: string | undefined

/** What a minute counted, read when it ends (lib/minutes.ts) */
interface MinuteSnapshot {
  totals: { echo: number, retried: number, messages: number, requests: number }
  lag: { p99: number, max: number }
  /** Sends, requests and echoes in flight for longer than STALL_AFTER */
  stalled: number
}

const book = new MinuteBook<MinuteSnapshot>({
  start: startedAt,
  interval: options.checkInterval,
  duration: options.duration,
  read: () => {
    const t = workload?.totals
    return {
      totals: { echo: t?.echo ?? 0, retried: t?.retried ?? 0, messages: t?.messages ?? 0, requests: t?.requests ?? 0 },
      lag: lag.take(),
      stalled: workload?.pendingItems(Date.now() - STALL_AFTER).length ?? 0
    }
  }
})

/** Connections of every js node, to each go peer, and through the fault proxy */
function connectionCounts (): ConnectionCounts | undefined {
  if (swarm == null) {
    return undefined
  }

  const nodes = swarm.nodes
  return {
    byNode: nodes.map(n => n.getConnections().length),
    toGo: fleet.peers.map(p => nodes.map(n => n.getConnections().filter(c => c.remotePeer.toString() === p.peerId).length)),
    proxied: swarm.link?.proxy.connections.length ?? 0,
    relayed: nodes.reduce((n, node) => n + node.getConnections().filter(c => c.remoteAddr.toString().includes('/p2p-circuit')).length, 0)
  }
}

/** The longest the bulk transfer stalls, ms: the demo link's black hole (lib/memory.ts) */
const longestStall = bulkStall(schedule.disruptions, FAULT_PHASE)

function check ({ minute, from, to, snapshot, previous }: MinuteEnd<MinuteSnapshot>): void {
  const totals = snapshot.totals
  const baseline = samples.filter(s => s.t - startedAt >= schedule.warmup && s.t - startedAt < baselineEnd)
  const inMinute = samples.filter(s => s.t >= from && s.t < to)
  const proxied = Math.max(0, ...[...baseline, ...inMinute].map(s => s.connections?.proxied ?? 0))
  const before = previous?.totals ?? { echo: 0, retried: 0, messages: 0, requests: 0 }
  const go = goLeftBehind()
  const row = evaluateMinute({
    minute,
    disruptions: started.filter(s => s.at >= from && s.at < to).map(s => s.label),
    ok: (totals.echo - before.echo) + (totals.messages - before.messages) + (totals.requests - before.requests),
    retried: totals.retried - before.retried,
    lost: judged(from, to),
    stalled: snapshot.stalled,
    samples: inMinute,
    baseline,
    warmingUp: to - startedAt <= baselineEnd,
    // array buffers' retained floor: over the whole disruption cycle ending with this minute, once one has passed after the baseline
    cycleWindow: cycleWindow(samples, { minute, to, startedAt, interval: options.checkInterval, duration: options.duration, baselineEnd, cycle: schedule.cycle }),
    peakAllowance: peakAllowance({ proxied, bulkRate: BULK_RATE, longestStall, nodes: options.nodes, maxPending: MAX_PENDING }),
    lag: snapshot.lag,
    goProcesses: go.live,
    goLeftBehind: go.leftBehind
  })
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
    faultPhaseMs: FAULT_PHASE,
    // the dashboard's RTT/score history is not needed here
    sampleInterval: 3_600_000
  })
  // the demo's own traffic reports no connections: the soak runs its own in the same shape
  await swarm.workload.stop()
  await swarm.traffic.stop()
  const nodes = swarm.nodes
  const link = swarm.link
  ledger = new Ledger({
    batchPrefix: '/x/batch/',
    link: link == null ? undefined : { client: link.client, server: link.server, clientPeer: nodes[link.client].peerId.toString(), serverPeer: nodes[link.server].peerId.toString() }
  })
  nodes.forEach((node, i) => { ledger?.watch(node, i) })
  say(`swarm: ${nodes.length} js nodes, fault link n${link?.client} -> n${link?.server}`)
  await Promise.all(fleet.peers.map(async p => { await dialGoPeer(p.index) }))
  workload = new SoakWorkload(nodes, {
    ledger,
    indexOf: (peer) => swarm?.indexOf(peer) ?? -1,
    echoProtocol: ECHO_PROTOCOL,
    bulkProtocol: BULK_PROTOCOL,
    note: 'soak/note',
    ask: 'soak/ask',
    interval: TRAFFIC.interval,
    focus: link == null ? undefined : { from: link.client, to: link.server, interval: TRAFFIC.focusInterval },
    bulk: link == null ? undefined : { client: link.client, server: link.server },
    attemptTimeout: TRAFFIC.attemptTimeout,
    attempts: TRAFFIC.attempts,
    requestTimeout: TRAFFIC.requestTimeout,
    onLoss: (loss) => { if (losses.length < MAX_LOSSES) { losses.push(loss) } }
  })
  workload.start()
  watchFaultCycle()

  for (const d of schedule.disruptions) {
    timers.push(setTimeout(() => {
      disrupt(d).catch(err => {
        // a restart cut short by the soak's own stop is no failure of the disruption
        if (err?.name !== 'GoFleetStoppedError') {
          disruptionsFailed.push(`${d.kind}${d.goPeer != null ? ` go${d.goPeer}` : ''} at ${Math.round(d.at / 1000)} s: ${err?.name ?? 'Error'}: ${err?.message ?? err}`)
        }

        say(`disruption ${d.kind} failed: ${err.stack ?? err}`)
      })
    }, startedAt + d.at - Date.now()))
  }

  // the soak's own records sit in the same heap: counted with each sample, to tell their growth from the swarm's
  timers.push(setInterval(() => { samples.push({ ...sampleResources(), connections: connectionCounts(), records: { connections: ledger?.connections.size ?? 0, faults: ledger?.faults.length ?? 0, losses: losses.length, samples: samples.length } }) }, options.sampleInterval))
  process.stdout.write(`${HEADER}\n`)
  /** When the last minute ended (each is checked DEATH_GRACE after its end, by its own timer) */
  let minuteEnd = startedAt

  await new Promise<void>(resolve => {
    // Ctrl-C or a kill: stop at once, check the minutes so far, still write the results and end every go peer
    const onSignal = (signal: string): void => {
      interrupted = signal
      say(`${signal}: stopping early`)
      if (Date.now() - minuteEnd > options.sampleInterval) {
        book.end(Date.now())
      }

      book.takeAll().forEach(check)
      resolve()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)

    const tick = (): void => {
      const ended = book.end(Date.now())
      minuteEnd = ended.to

      if (ended.over) {
        resolve()
        return
      }

      timers.push(setTimeout(() => { book.take(ended.minute).forEach(check) }, DEATH_GRACE))
      timers.push(setTimeout(tick, book.nextEndIn(Date.now())))
    }
    timers.push(setTimeout(tick, book.nextEndIn(Date.now())))
  })

  if (interrupted == null) {
    // the end: no new traffic; what is in flight settles (or is a stall), the last deaths come in, then the last check
    say('end: letting the last requests settle')
    stalledAtEnd = await workload.stop(SETTLE)
    const last = book.lastDue()

    if (last != null) {
      last.snapshot.stalled += stalledAtEnd.length
    }

    // a request lost while settling (after the last minute's end) gets its DEATH_GRACE too: it is judged before the swarm stops
    const lastLoss = losses.reduce((t, l) => Math.max(t, l.at), last?.to ?? 0)
    await new Promise(resolve => setTimeout(resolve, Math.max(0, lastLoss + DEATH_GRACE - Date.now())))
    book.takeAll().forEach(check)

    // the drain: no load (stopped above), no faults, no busy processes, every go peer running; array buffers and heap come back
    timers.forEach(t => { clearTimeout(t); clearInterval(t) })
    swarm?.faultCycle?.stop()
    cpu.stop()
    fleet.peers.forEach(p => { fleet.resume(p.index) })
    say('drain: load, faults and busy processes stopped; waiting for array buffers and heap to come back')
    drain = await awaitDrain(samples.filter(s => s.t - startedAt >= schedule.warmup && s.t - startedAt < baselineEnd), sampleResources)
    heapSnapshot('drained')
    say(`drain: array buffers ${(drain.arrayBuffers * 100).toFixed(1)}% over the baseline floor, heap ${(drain.heap * 100).toFixed(1)}% over the baseline, after ${(drain.waited / 1000).toFixed(0)} s${drain.passed ? '' : `: FAILED: ${drain.failed.join('; ')}`}`)
  }

  return finish()
}

async function finish (): Promise<number> {
  timers.forEach(t => { clearTimeout(t); clearInterval(t) })
  // every connection closed from here on is closed by our own stop: it explains no loss
  ledger?.seal()
  say('stopping the swarm and the go peers')
  await workload?.stop(0)
  await swarm?.stop()
  await fleet.stopAll()
  cpu.stop()
  lag.stop()
  rmSync(keyDir, { recursive: true, force: true })

  // after everything is stopped: not one go process of ours may be alive (a live go peer of ours is our child; its old pid may be another's)
  await new Promise(resolve => setTimeout(resolve, 500))
  const leftAtEnd = childProcesses('go-peer').length
  const judgedLosses = judged(-Infinity, Infinity)
  const unexplained = judgedLosses.filter(l => l.explainedBy == null)
  const growthOf = (k: 'heap' | 'arrayBuffers' | 'handles' | 'fds' | 'connections'): number | null => rows.some(r => r.growth?.[k] != null) ? Math.max(...rows.map(r => r.growth?.[k] ?? -Infinity)) : null
  const pctOf = (x: number | null): string => x == null ? 'n/a (no minute after the baseline)' : `${(x * 100).toFixed(1)}%`
  const checks = {
    lostRequests: losses.length,
    unexplainedLostRequests: unexplained.length,
    stalled: Math.max(0, ...rows.map(r => r.stalled)),
    stalledAtEnd: stalledAtEnd.length,
    maxGrowth: { heap: growthOf('heap'), arrayBuffers: growthOf('arrayBuffers'), handles: growthOf('handles'), fds: growthOf('fds'), connections: growthOf('connections') },
    goProcessesStarted: fleet.pids.length,
    goProcessesLeftAtEnd: leftAtEnd,
    maxLagP99: Math.max(...rows.map(r => r.lagP99)),
    minutesFailed: rows.filter(r => r.failed.length > 0).map(r => r.minute),
    growthChecked: rows.some(r => r.growth != null),
    // array buffers' highest sample after the warm-up, and the drain at the end
    maxArrayBuffersMB: Math.max(0, ...rows.filter(r => r.growth != null).map(r => r.arrayBuffersPeakMB)),
    drain,
    disruptionsFailed,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function'
  }
  const pass = soakPassed({ ...checks, interrupted: interrupted ?? null })
  const totals = workload?.totals
  const rel = (t: number): string => `${((t - startedAt) / 1000).toFixed(1)} s`

  process.stdout.write(`\n${renderTable(rows)}\n\n`)
  process.stdout.write(`echo requests ok ${totals?.echo} (retried ${totals?.retried}), batched messages ${totals?.messages}, batched requests ${totals?.requests}, rounds skipped ${totals?.skipped}, bulk ${((totals?.bulkBytes ?? 0) / 1024 / 1024).toFixed(1)} MiB (${totals?.bulkRestarts} restarts)\n`)
  process.stdout.write(`lost ${losses.length}: ${losses.length - unexplained.length} explained, ${unexplained.length} unexplained; stalled at the end ${stalledAtEnd.length}\n`)
  const life = (key: string): string => {
    const c = ledger?.connections.get(key)
    return c == null ? key : `${key} (opened ${rel(c.openedAt)}, ${c.closedAt == null ? 'still open' : `closed ${rel(c.closedAt)}`})`
  }
  for (const l of unexplained.slice(0, 10)) {
    process.stdout.write(`  unexplained ${l.kind}: n${l.node} -> ${l.peer.slice(-8)} started ${rel(l.startedAt)}, lost ${rel(l.at)}: ${l.error}\n`)
    for (const a of l.attempts) {
      process.stdout.write(`    attempt ${rel(a.startedAt)}-${rel(a.at)} on ${a.connection != null ? life(a.connection) : `no stream; tried ${a.tried.map(life).join(', ') || 'none'}`}: ${a.error}\n`)
    }
  }
  for (const p of stalledAtEnd.slice(0, 10)) {
    process.stdout.write(`  stalled ${p.kind}: n${p.node} -> ${p.peer.slice(-8)} since ${rel(p.startedAt)}\n`)
  }
  process.stdout.write(`go processes started ${fleet.pids.length}, alive after stop ${leftAtEnd}; max growth heap ${pctOf(checks.maxGrowth.heap)}, array buffers ${pctOf(checks.maxGrowth.arrayBuffers)} (retained floor of a cycle; highest sample ${checks.maxArrayBuffersMB.toFixed(1)} MB), handles ${pctOf(checks.maxGrowth.handles)} and fds ${pctOf(checks.maxGrowth.fds)} (beyond the connections' sockets), connections ${pctOf(checks.maxGrowth.connections)}; max event-loop p99 ${checks.maxLagP99.toFixed(0)} ms\n`)
  process.stdout.write(drain == null ? 'drain: not run\n' : `drain: array buffers ${pctOf(drain.arrayBuffers)} over the baseline floor, heap ${pctOf(drain.heap)} over the baseline, after ${(drain.waited / 1000).toFixed(0)} s: ${drain.passed ? 'ok' : `FAILED: ${drain.failed.join('; ')}`}\n`)
  for (const failure of disruptionsFailed) {
    process.stdout.write(`disruption failed: ${failure}\n`)
  }
  if (!checks.gcExposed) {
    process.stdout.write('no gc: heap and array buffers were sampled with their garbage (run it with node --expose-gc, as npm run bench does)\n')
  }
  process.stdout.write(`soak ${pass ? 'passed' : 'FAILED'}${interrupted != null ? ` (interrupted by ${interrupted} after ${((Date.now() - startedAt) / 60_000).toFixed(1)} min)` : ''}\n`)

  mkdirSync(dirname(options.out), { recursive: true })
  writeFileSync(options.out, JSON.stringify({
    date: new Date(startedAt).toISOString(),
    node: process.version,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    options,
    traffic: TRAFFIC,
    limits: { maxGrowth: MAX_GROWTH, maxLagP99: MAX_LAG_P99, deathGrace: DEATH_GRACE, faultGrace: FAULT_GRACE, stallAfter: STALL_AFTER, arrayBuffersFloor: ARRAY_BUFFERS_FLOOR, longestStall, drainWait: DRAIN_WAIT },
    schedule,
    baselineEnd,
    minutes: rows,
    totals,
    checks,
    pass,
    interrupted: interrupted ?? null,
    ranFor: Date.now() - startedAt,
    faults: (ledger?.faults ?? []).map(f => ({ ...f, start: f.start - startedAt, end: Number.isFinite(f.end) ? f.end - startedAt : null })),
    lost: judgedLosses.map(l => ({ ...l, startedAt: l.startedAt - startedAt, at: l.at - startedAt, attempts: l.attempts.map(a => ({ ...a, startedAt: a.startedAt - startedAt, at: a.at - startedAt })) })),
    // the connections the lost requests ran on or tried, for diagnosis
    connections: [...new Set(judgedLosses.flatMap(l => l.attempts.flatMap(a => [a.connection, ...a.tried])))].flatMap(key => {
      const c = key == null ? undefined : ledger?.connections.get(key)
      return c == null ? [] : [{ ...c, openedAt: c.openedAt - startedAt, closedAt: c.closedAt == null ? null : c.closedAt - startedAt }]
    }),
    stalled: stalledAtEnd.map(p => ({ ...p, startedAt: p.startedAt - startedAt })),
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
