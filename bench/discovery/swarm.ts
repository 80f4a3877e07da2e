/**
 * Discovery in swarms of N = 10, 25, 50 gossipsub nodes on loopback, ours vs
 * the official @libp2p/pubsub-peer-discovery, both with their default 10 s
 * interval (`--interval 2000` for a shorter one: results then go to
 * results/discovery-swarm-2000ms.json). Times are in intervals, but
 * connection set-up (dials, noise, identify, gossipsub streams: several
 * seconds for 50 nodes on 2 cores) does not shrink with the interval, so a
 * short interval measures mostly that.
 *
 * Topology ("mesh", the one the targets are judged on): what an application
 * using a discovery module does. Every node starts, dials one bootstrap node,
 * and then dials each peer it discovers (`peer:discovery`, the same event for
 * both modules) while it has fewer than D = 6 connections; inbound
 * connections count too, so the bootstrap node dials nobody. Once an
 * interval a node still under D dials a random known, unconnected peer from
 * its peer store (as libp2p's former auto-dialer did), so dials that timed
 * out under load are retried. Gossipsub then builds a real mesh over these
 * connections. Identical for both modules. The node joining later dials the
 * last node started (not the bootstrap node), then the same way.
 *
 * The nodes run in W worker processes (`--workers W`, default 4; node i in
 * worker i mod W, see swarm-worker.ts), each with its own event loop: in
 * one process the official module at N = 50 saturated the single event
 * loop (p99 lag 3.5 s), which slowed everything, dials included, and
 * distorted both modules' numbers. The coordinator (this process) holds no
 * node: it has every worker create its nodes, then tells all of them to
 * start at once, then to dial the bootstrap address, and polls the workers
 * every 100 ms ("how many of these peer ids does each of your nodes still
 * miss", answered from each node's `peer:update` events) only to know when
 * to stop waiting: the time is read from the workers' records (see
 * "full discovery" below), not from when a poll saw it. The steady-state
 * event loop lag reported is the largest of the workers' p99 lags; with
 * 2 cores and 4 workers a high value still means the run is CPU-bound.
 * Workers exit with the coordinator (also on errors and SIGINT).
 *
 * Environment: ONLY=ours skips the official module (quick iterations),
 * DEBUG_BENCH=1 prints who knows whom after 3 s and 5 intervals,
 * LATE_ENTRY=bootstrap makes the late joiner dial the bootstrap node,
 * FAST_MSG_ID=1 gives gossipsub a fastMsgIdFn (author and seqno), so a
 * duplicate is dropped before its signature is verified again (js
 * gossipsub verifies every copy it receives otherwise: the largest CPU cost
 * of a forming swarm here), DISCOVERY_ONLY=1 ends each run at full discovery (no steady state, no
 * late joiner: their columns are NaN; for exploring), TRACE_BENCH=DIR writes, after full discovery, every node's view of every
 * peer (connection, gossipsub subscription, outbound stream, mesh, first
 * message it authored, first record of it relayed by another, peer store
 * write), its publishes and gossipsub outbound stream openings, to a JSON
 * file in DIR.
 *
 * With `--star` a worst-case row per size is added: everyone dials the
 * bootstrap node and nothing else, so every message goes through one node
 * whose mesh (6-12 peers) and gossip reach only part of the others.
 *
 * Reports:
 *
 * - full discovery (in intervals): from the start, taken by the coordinator
 *   just before it tells the workers to start their nodes (the same moment
 *   for both modules), to the moment the last node first learned the last
 *   peer it did not know (its first `peer:update` for that peer, recorded by
 *   its worker as performance.timeOrigin + performance.now(), ms since the
 *   epoch, which the processes on one machine share to about a ms; see
 *   discovery-time.ts). Node start-up and the bootstrap dials are inside
 *   it: a bootstrap dial that the bench's own load delays (it is retried up
 *   to 5 times) counts against the module measured. `last bootstrap dial`
 *   says when the last bootstrap dial returned, so such a run can be told
 *   apart; `full discovery, polled` is the former reading (the first poll,
 *   after every bootstrap dial returned, that found nobody missing anyone),
 *   never earlier than the exact one
 * - time until a node joining later has everyone (in intervals): from just
 *   before it dials its entry node (it is created and started before) to
 *   when it first learned the last peer, read the same way
 * - discovery messages and bytes received per node per interval once the
 *   swarm is steady (gossipsub deliveries on the discovery topic)
 * - the steady-state event loop p99 lag, max over the workers
 *
 * With `--repeat R` each module runs R times per size, interleaved
 * (official, ours, official, ours ...): the table lists every run and then
 * each module's medians, from which the ratio and the summary line are taken.
 *
 * `--official-repeat K` runs the official module only in the first K of
 * the R rounds (its row is then the median of K runs, or the one run);
 * `--steady-runs S` measures the steady state and the late joiner in the
 * first S rounds only (later runs stop at full discovery; their other
 * columns are NaN and left out of the medians, which say over how many).
 *
 *   node bench/discovery/swarm.ts [--star] [--workers W] [--interval MS] [--repeat R] [--official-repeat K] [N ...]
 */
import { writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import { forkWorker } from '../lib/worker-rpc.ts'
import { discoveryTime, epochNow } from './discovery-time.ts'
import type { NodeLearning } from './discovery-time.ts'
import type { WorkerHandle } from '../lib/worker-rpc.ts'

/**
 * When the swarm is steady, and for how long messages are counted, in
 * intervals: our module announces every interval while warming up (up to
 * 10 intervals after start), then once a period of P = ceil(N / 6)
 * intervals at a random point of half a period to one and a half; so the
 * count starts once every node is past its warm-up and one and a half
 * periods, and lasts a period (at least 5 intervals). The official module
 * gets the same windows.
 */
function steadyWindow (n: number): { from: number, length: number } {
  const period = Math.ceil(n / 6)
  return { from: 10 + Math.ceil(1.5 * period), length: Math.max(5, period) }
}

/**
 * Connections a node dials discovered peers up to: gossipsub's mesh degree
 * D is 6, so 6 connections let every node fill its mesh, as an application
 * keeping a small number of peers would
 */
const TARGET_CONNECTIONS = 6

const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'swarm-worker.ts')

const args = process.argv.slice(2)
const STAR = args.includes('--star')
/** The value after `--name`, and the positions it took in `args` */
function option (name: string, fallback: number): { value: number, at: number[] } {
  const at = args.indexOf(name)
  const value = at >= 0 ? Number(args[at + 1]) : fallback
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} needs a positive integer\n`)
    process.exit(1)
  }
  return { value, at: at >= 0 ? [at, at + 1] : [] }
}
const workers = option('--workers', 4)
/**
 * The discovery interval of both modules, ms: by default their default
 * (10 s); a shorter one (--interval 2000) makes connection set-up, which
 * does not scale with the interval, weigh more
 */
const interval = option('--interval', 10_000)
/** Runs per module and size, interleaved (official, ours, official, ours ...); the table gives each run and the medians */
const repeat = option('--repeat', 1)
/** Runs of the official module per size, at most `--repeat` (the first ones of the interleaving): its numbers vary less than the gap between the modules */
const officialRepeat = option('--official-repeat', repeat.value)
/**
 * Rounds whose runs go on past full discovery to the steady state and the
 * late joiner (the first K; default all): the later ones stop at full
 * discovery, so R runs of full discovery fit a shared benchmark slot
 */
const steadyRounds = option('--steady-runs', repeat.value)
const WORKERS = workers.value
const INTERVAL = interval.value
const REPEAT = repeat.value
const OFFICIAL_REPEAT = Math.min(officialRepeat.value, REPEAT)
const STEADY_ROUNDS = Math.min(steadyRounds.value, REPEAT)
const SIZES = args.filter((a, i) => !a.startsWith('--') && ![...workers.at, ...interval.at, ...repeat.at, ...officialRepeat.at, ...steadyRounds.at].includes(i)).map(Number).filter(n => n > 1)

type Kind = 'ours' | 'official'
type Topology = 'mesh' | 'star'
type Row = Record<string, string | number>

let officialUnhandled = 0
let otherUnhandled = 0
/** per run, each worker's steady-state p99 event loop lag (ms), for the results file */
const lags: Record<string, number[]> = {}

async function until (condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now()
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) return NaN
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return performance.now() - started
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** DEBUG_BENCH: after 3 s, who knows how many; after 5 intervals, how many do not know each node */
async function coverage (workers: WorkerHandle[], ids: string[], label: string, which: 'known' | 'unknown'): Promise<void> {
  const reports = (await Promise.all(workers.map(async w => w.call<Array<{ index: number, connections: number, missing: string[], messages: number, gossipPeers: number, subscribers: number, streams: string }>>('debug')))).flat().sort((a, b) => a.index - b.index)
  if (which === 'known') {
    process.stderr.write(`${label}: bootstrap has ${reports[0].connections} connections; known per node ${reports.map(r => ids.length - r.missing.length).join(',')}; msgs ${reports.map(r => r.messages).join(',')}; gossipsub peers/subscribers ${reports.map(r => `${r.gossipPeers}/${r.subscribers}`).join(',')}\n`)
  } else {
    for (const r of reports.filter(r => r.streams !== '').slice(0, 3)) process.stderr.write(`  node ${r.index} (1 connection) streams: ${r.streams}\n`)
    const unknown = ids.map((id, j) => `${reports.filter(r => r.missing.includes(id)).length}(${j}:${reports[j].connections})`)
    process.stderr.write(`${label} after 5 intervals, nodes not knowing each peer (index:connections): ${unknown.join(' ')}\n`)
  }
}

async function run (kind: Kind, n: number, topology: Topology, steadyToo = true): Promise<Row> {
  const label = `${kind} N=${n} ${topology}`
  const w = Math.min(WORKERS, n)
  const workers = Array.from({ length: w }, () => forkWorker(WORKER_FILE, [String(INTERVAL), String(TARGET_CONNECTIONS)]))
  try {
    // node i lives in worker i mod w
    const shares = workers.map((_, k) => Array.from({ length: n }, (_, i) => i).filter(i => i % w === k))
    const idsPerWorker = await Promise.all(workers.map(async (worker, k) => worker.call<string[]>('create', { kind, topology, indices: shares[k] })))
    const ids: string[] = new Array(n)
    shares.forEach((share, k) => { share.forEach((i, j) => { ids[i] = idsPerWorker[k][j] }) })

    // simultaneous start: everyone starts, then dials the bootstrap node
    const started = performance.now()
    // the start of full discovery, on the clock the workers record on
    const startedAt = epochNow()
    const workerStarted = await Promise.all(workers.map(async worker => worker.call<number>('now')))
    const addrs: string[] = new Array(n)
    for (const list of await Promise.all(workers.map(async worker => worker.call<Array<{ index: number, addr: string }>>('start')))) {
      for (const { index, addr } of list) addrs[index] = addr
    }
    const bootstrapAddr = addrs[0]
    const entryAddr = addrs[n - 1]
    const failed = (await Promise.all(workers.map(async worker => worker.call<number[]>('dial', { addr: bootstrapAddr })))).flat()
    if (failed.length > 0) process.stderr.write(`${label}: ${failed.length} nodes could not dial the bootstrap node: ${failed.join(',')}\n`)
    await Promise.all(workers.map(async worker => worker.call('watch', { ids })))
    // coverage printouts run alongside the polls, so they do not delay the measurement
    let debugging: Promise<unknown> | undefined
    if (process.env.DEBUG_BENCH != null) {
      const at = async (ms: number, report: () => Promise<void>): Promise<void> => sleep(Math.max(0, ms - (performance.now() - started))).then(report).catch(() => {})
      debugging = Promise.all([
        at(3000, async () => coverage(workers, ids, `${label} after 3 s`, 'known')),
        at(5 * INTERVAL, async () => coverage(workers, ids, label, 'unknown'))
      ])
    }
    const everyone = await until(async () => (await Promise.all(workers.map(async worker => worker.call<number[]>('missing')))).flat().every(m => m === 0), 30 * INTERVAL)
    const fullDiscoveryPolled = Number.isNaN(everyone) ? NaN : performance.now() - started
    // read from the workers' records: when the last node learned its last peer
    const fullDiscovery = Number.isNaN(everyone) ? NaN : discoveryTime(startedAt, (await Promise.all(workers.map(async worker => worker.call<NodeLearning[]>('learned')))).flat())
    const bootstrapDialled = (await Promise.all(workers.map(async worker => worker.call<Array<{ index: number, at: number }>>('bootstrapDialled')))).flat()
    const lastBootstrapDial = Math.max(...bootstrapDialled.map(d => d.at)) - startedAt
    const lateDialers = bootstrapDialled.filter(d => d.at - startedAt > 0.2 * INTERVAL).sort((a, b) => b.at - a.at)
    const verified = (await Promise.all(workers.map(async worker => worker.call<number[]>('verify')))).flat()
    if (!Number.isNaN(everyone) && verified.some(m => m > 0)) process.stderr.write(`${label}: peer stores miss peers their peer:update events reported: ${verified.join(',')}\n`)

    process.stderr.write(`${label}: full discovery ${fmt(fullDiscovery / INTERVAL)} intervals (seen by the poll at ${fmt(fullDiscoveryPolled / INTERVAL)}); last bootstrap dial returned at ${fmt(lastBootstrapDial / INTERVAL)}${lateDialers.length > 0 ? ` (after 0.2 intervals: ${lateDialers.map(d => `${d.index}@${fmt((d.at - startedAt) / INTERVAL)}`).join(' ')})` : ''}; bootstrap has ${await workers[0].call('connections', { index: 0 })} connections\n`)
    if (process.env.DEBUG_BENCH != null) {
      // the last (node, peer) pairs to be learned: who was late, and were they connected
      const late = (await Promise.all(workers.map(async (worker, k) => worker.call<Array<{ index: number, peer: string, ms: number, connected: boolean }>>('latest', { count: 15, since: workerStarted[k] })))).flat().sort((a, b) => b.ms - a.ms).slice(0, 15)
      process.stderr.write(`${label}: last learned: ${late.map(l => `${l.index}<-${ids.indexOf(l.peer)}@${(l.ms / INTERVAL).toFixed(2)}${l.connected ? 'c' : ''}`).join(' ')}\n`)
    }
    if (process.env.TRACE_BENCH != null) {
      // every node's view of every peer (see PeerTrace in swarm-worker.ts), peer ids as swarm indices
      const traces = (await Promise.all(workers.map(async (worker, k) => worker.call<any[]>('trace', { since: workerStarted[k] })))).flat().sort((a, b) => a.index - b.index)
      const index = (id: string): number => ids.indexOf(id)
      const byIndex = (record: Record<string, any>): Record<number, any> => Object.fromEntries(Object.entries(record).map(([id, v]) => [index(id), typeof v === 'object' && v?.relayer != null ? { ...v, relayer: index(v.relayer) } : v]))
      const file = join(process.env.TRACE_BENCH, `trace-${kind}-${n}-${Date.now()}.json`)
      writeFileSync(file, JSON.stringify({ kind, n, interval: INTERVAL, fullDiscovery, nodes: traces.map(t => ({ ...t, peers: byIndex(t.peers), learned: byIndex(t.learned), outbound: t.outbound.map((o: any) => ({ ...o, peer: index(o.peer) })) })) }))
      process.stderr.write(`${label}: trace in ${file}\n`)
    }
    await debugging
    if (process.env.DISCOVERY_ONLY != null || !steadyToo) {
      await Promise.all(workers.map(async worker => worker.call('stop')))
      return { module: kind, topology, N: n, 'full discovery (intervals)': fullDiscovery / INTERVAL, 'full discovery, polled (intervals)': fullDiscoveryPolled / INTERVAL, 'last bootstrap dial (intervals)': lastBootstrapDial / INTERVAL, 'late joiner (intervals)': NaN, 'msgs/node/interval (median)': NaN, 'bytes/node/interval (median)': NaN, 'steady p99 lag, max of workers (ms)': NaN }
    }
    // steady state: every node past its warm-up and one and a half periods
    const steadyAt = steadyWindow(n)
    await sleep(Math.max(0, steadyAt.from * INTERVAL - (performance.now() - started)))
    await Promise.all(workers.map(async worker => worker.call('steadyStart')))
    await sleep(steadyAt.length * INTERVAL)
    const steady = await Promise.all(workers.map(async worker => worker.call<{ messages: number[], bytes: number[], p99: number }>('steadyEnd')))
    const perNodeMessages = steady.flatMap(s => s.messages).map(m => m / steadyAt.length)
    const perNodeBytes = steady.flatMap(s => s.bytes).map(b => b / steadyAt.length)
    lags[label] = steady.map(s => s.p99)

    // a node joining later, in the next worker in turn
    const lateWorker = workers[n % w]
    await lateWorker.call('late', { kind, topology, index: n })
    const joinStartedAt = epochNow()
    let lateJoin = NaN
    const lateFailed = await lateWorker.call<number[]>('dial', { addr: process.env.LATE_ENTRY === 'bootstrap' ? bootstrapAddr : entryAddr, indices: [n] })
    if (lateFailed.length > 0) {
      process.stderr.write(`${label}: the late joiner could not connect\n`)
    } else {
      await lateWorker.call('watch', { ids, indices: [n] })
      lateJoin = await until(async () => (await lateWorker.call<number[]>('missing', { indices: [n] }))[0] === 0, 20 * INTERVAL)
    }
    // read like full discovery: when the late joiner learned its last peer
    const lateJoinMs = Number.isNaN(lateJoin) ? NaN : discoveryTime(joinStartedAt, await lateWorker.call<NodeLearning[]>('learned', { indices: [n] }))

    for (const counts of await Promise.all(workers.map(async worker => worker.call<{ officialUnhandled: number, otherUnhandled: number }>('stop')))) {
      officialUnhandled += counts.officialUnhandled
      otherUnhandled += counts.otherUnhandled
    }

    return {
      module: kind,
      topology,
      N: n,
      'full discovery (intervals)': fullDiscovery / INTERVAL,
      'full discovery, polled (intervals)': fullDiscoveryPolled / INTERVAL,
      'last bootstrap dial (intervals)': lastBootstrapDial / INTERVAL,
      'late joiner (intervals)': lateJoinMs / INTERVAL,
      'msgs/node/interval (median)': median(perNodeMessages),
      'bytes/node/interval (median)': median(perNodeBytes),
      // a high lag means the run is CPU-bound
      'steady p99 lag, max of workers (ms)': Math.max(...lags[label])
    }
  } finally {
    await Promise.all(workers.map(async worker => worker.stop()))
  }
}

let failures = 0

async function runOrReport (kind: Kind, n: number, topology: Topology, steadyToo = true): Promise<Row> {
  try {
    // DISCOVERY_ONLY stops every run at full discovery
    return { ...await run(kind, n, topology, steadyToo), 'steady measured': steadyToo && process.env.DISCOVERY_ONLY == null ? 'yes' : 'no' }
  } catch (err) {
    failures++
    process.stderr.write(`${kind} N=${n} ${topology} failed: ${(err as Error).stack ?? err}\n`)
    return { module: kind, topology, N: n, 'full discovery (intervals)': NaN, 'full discovery, polled (intervals)': NaN, 'last bootstrap dial (intervals)': NaN, 'late joiner (intervals)': NaN, 'msgs/node/interval (median)': NaN, 'bytes/node/interval (median)': NaN, 'steady p99 lag, max of workers (ms)': NaN }
  }
}

const MEASURES = ['full discovery (intervals)', 'full discovery, polled (intervals)', 'last bootstrap dial (intervals)', 'late joiner (intervals)', 'msgs/node/interval (median)', 'bytes/node/interval (median)', 'steady p99 lag, max of workers (ms)']
/** Times to reach a goal: a run that never reached it (NaN) is slower than any that did */
const TIMES = new Set(['full discovery (intervals)', 'full discovery, polled (intervals)', 'late joiner (intervals)'])
/** Measures every run has, also those stopped at full discovery (--steady-runs) */
const STEADY_INDEPENDENT = new Set(['full discovery (intervals)', 'full discovery, polled (intervals)', 'last bootstrap dial (intervals)'])

/** Whether a run failed, or never reached full discovery or the late joiner's */
function failedRun (row: Row): boolean {
  // a run stopped at full discovery (--steady-runs) has no late joiner
  const times = row['steady measured'] === 'no' ? ['full discovery (intervals)'] : [...TIMES]
  return times.some(measure => Number.isNaN(Number(row[measure])))
}

/**
 * With --repeat: one row per module with the median of each measure over its
 * runs. A run that never reached full discovery (or failed) counts as slower
 * than every other in the medians of times, so failures are not hidden: a
 * median of Infinity means half the runs or more never got there. Other
 * measures are medians over the runs that have them; `failed runs` counts
 */
function medianRow (runs: Row[]): Row {
  const row: Row = { ...runs[0], run: `median of ${runs.length}` }
  for (const measure of MEASURES) {
    // runs stopped at full discovery (--steady-runs) measured nothing after it
    const measured = STEADY_INDEPENDENT.has(measure) ? runs : runs.filter(r => r['steady measured'] !== 'no')
    const values = measured.map(r => Number(r[measure]))
    row[measure] = median(TIMES.has(measure) ? values.map(v => Number.isNaN(v) ? Infinity : v) : values.filter(v => !Number.isNaN(v)))
  }
  row['steady measured'] = `${runs.filter(r => r['steady measured'] !== 'no').length} of ${runs.length}`
  row['failed runs'] = runs.filter(failedRun).length
  return row
}

const rows: Row[] = []
/** Every run, for the results file */
const runs: Row[] = []
for (const n of SIZES.length > 0 ? SIZES : [10, 25, 50]) {
  for (const topology of STAR ? ['mesh', 'star'] as const : ['mesh'] as const) {
    const officialRuns: Row[] = []
    const ourRuns: Row[] = []
    for (let r = 1; r <= REPEAT; r++) {
      // ONLY=ours skips the official module (for quick iterations; no ratio then)
      if (process.env.ONLY !== 'ours' && r <= OFFICIAL_REPEAT) officialRuns.push({ ...await runOrReport('official', n, topology, r <= STEADY_ROUNDS), run: r })
      ourRuns.push({ ...await runOrReport('ours', n, topology, r <= STEADY_ROUNDS), run: r })
    }
    runs.push(...officialRuns, ...ourRuns)
    const official = officialRuns.length === 0 ? undefined : officialRuns.length === 1 ? officialRuns[0] : medianRow(officialRuns)
    const ours = REPEAT === 1 ? ourRuns[0] : medianRow(ourRuns)
    if (REPEAT > 1) rows.push(...[...officialRuns, ...ourRuns].map(r => ({ ...r, 'failed runs': failedRun(r) ? 1 : 0, 'msg ratio official/ours': '-' })))
    if (official != null) rows.push({ ...official, 'msg ratio official/ours': '-' })
    const ratio = official == null ? '-' : Number(official['msgs/node/interval (median)']) / Number(ours['msgs/node/interval (median)'])
    rows.push({ ...ours, 'msg ratio official/ours': ratio })
  }
}

printTable(`Discovery on loopback, ${WORKERS} worker processes, interval ${INTERVAL / 1000} s, mesh: bootstrap + dial discovered peers up to ${TARGET_CONNECTIONS} connections${STAR ? '; star (worst case): bootstrap only' : ''}`, rows)

const largest = Math.max(...rows.map(r => Number(r.N)))
// the medians with --repeat (the last row of each module), else the one run
const official = rows.findLast(r => r.module === 'official' && r.N === largest && r.topology === 'mesh') ?? {}
const ours = rows.findLast(r => r.module === 'ours' && r.N === largest && r.topology === 'mesh') ?? {}
const reduction = Number(official['msgs/node/interval (median)']) / Number(ours['msgs/node/interval (median)'])
process.stdout.write(`\nat N=${largest}${REPEAT > 1 ? ` (medians of ${REPEAT} runs of ours, ${OFFICIAL_REPEAT} of the official module, interleaved)` : ''}: full discovery ${fmt(Number(ours['full discovery (intervals)']))} intervals (target <= 2), late joiner ${fmt(Number(ours['late joiner (intervals)']))} (target <= 2), ${fmt(reduction)}x fewer steady messages per node than official (target >= 5)\n`)
// runs that completed but never reached full discovery (or the late joiner's) fail too
const incomplete = runs.filter(r => failedRun(r)).length - failures
process.stdout.write(`unhandled publish rejections from the official module: ${officialUnhandled}, other unhandled rejections: ${otherUnhandled}${failures > 0 ? `; ${failures} runs failed` : ''}${incomplete > 0 ? `; ${incomplete} runs never reached full discovery (NaN, counted as slower than any in medians)` : ''}\n`)
// exploring (DISCOVERY_ONLY, TRACE_BENCH): no results file
if (process.env.DISCOVERY_ONLY == null && process.env.TRACE_BENCH == null) writeResults(INTERVAL === 10_000 ? 'discovery-swarm' : `discovery-swarm-${INTERVAL}ms`, { interval: INTERVAL, targetConnections: TARGET_CONNECTIONS, workers: WORKERS, repeat: REPEAT, officialRepeat: OFFICIAL_REPEAT, rows, runs, reduction, officialUnhandled, otherUnhandled, steadyP99LagPerWorker: lags, failures, incomplete })
process.exit(failures + incomplete > 0 ? 1 : 0)
