/**
 * 1,000 monitored connections (100 listener nodes in a child process, 10
 * connections to each) at a 10 s check interval: CPU time of the health
 * service per minute (six sweeps run back to back: one minute of checks)
 * and bytes per monitored connection (heap and array buffers of the
 * records, which stop() drops). Side by side, alternating minutes in one
 * run (median of ROUNDS of each):
 *
 * - the service probing on the muxer (`probe: 'auto'`, the default: a yamux
 * PING frame per check),
 * - the same service probing with ping streams (`probe: 'stream'`),
 * - bare yamux pings (`muxer.ping()` on every connection, nothing else),
 * - bare stream pings (a minimal ping on a new stream per connection),
 * - idle: the same process doing nothing for as long as a minute of muxer
 * probes took (what the process costs anyway: timers, GC).
 *
 * Targets: the service with muxer probes under 0.5 % of one core, under
 * 4 KiB per connection.
 *
 * `node --expose-gc bench/health/scale.ts`
 */
import { cpus, loadavg } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { spawnListeners } from '../lib/listener-process.ts'
import { createNode } from '../lib/nodes.ts'
import { minimalPing } from '../lib/ping.ts'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection } from '@libp2p/interface'

const LISTENERS = 100
const PER_LISTENER = 10
const INTERVAL_S = 10
const ROUNDS = Number(process.env.ROUNDS ?? 3)

if ((globalThis as any).gc == null) {
  process.stderr.write('run with node --expose-gc: the memory figure needs full collections\n')
  process.exit(1)
}

const listeners = await spawnListeners(LISTENERS)
const addrs = listeners.addrs

const client = await createNode({
  addresses: { listen: [] },
  services: { health: connectionHealth({ checkInterval: 3_600_000, maxConcurrentProbes: 16 }) }
})

for (const addr of addrs) {
  for (let i = 0; i < PER_LISTENER; i++) {
    await client.dial(multiaddr(addr), { force: true })
  }
}
const connections = client.getConnections().length
const gc = (globalThis as any).gc as (() => void) | undefined

// The floors, side by side: the same pings without the service's
// bookkeeping, 16 at once: a minimal ping on a new stream (open, 32 bytes
// there and back, close), or a yamux PING frame. The minutes of each mode
// alternate (after one warm-up of each), medians of ROUNDS; the service
// keeps running during the floors, so its byte tap counts their bytes.
const conns: Connection[] = client.getConnections().filter((c: Connection) => c.status === 'open')
async function timedPing (conn: Connection): Promise<void> {
  // a timeout timer cleared at the end: AbortSignal.timeout would leave
  // 1,000 timers a round to fire during the next minute of checks
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort() }, 5_000)
  try {
    await minimalPing(conn, controller.signal)
  } finally {
    clearTimeout(timer)
  }
}
async function pingRound (): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < conns.length) { await timedPing(conns[next++]) }
  }))
}
/** The same with yamux PING frames, our own timer as the service has it */
async function muxerPingRound (): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < conns.length) {
      const muxer = (conns[next++] as any).muxer
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([muxer.ping(), new Promise(resolve => { timer = setTimeout(resolve, 5_000) })])
      clearTimeout(timer)
    }
  }))
}
/** Sleeps as long as the last sweep with muxer probes took: the idle floor of the same wall time */
let lastSweepWallMs = 0
async function idleRound (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, lastSweepWallMs))
}
/** CPU ms of one minute's worth of rounds (60 s / interval), and the wall time of one */
async function minute (round: () => Promise<void>): Promise<{ cpuMs: number, wallMs: number }> {
  const before = process.cpuUsage()
  const wall = performance.now()
  for (let i = 0; i < 60 / INTERVAL_S; i++) {
    await round()
  }
  const cpu = process.cpuUsage(before)
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: (performance.now() - wall) / (60 / INTERVAL_S) }
}

// one service, its probe switched between minutes: the same connections in the same process
const health = client.services.health as any
async function checks (probe: 'auto' | 'stream'): Promise<void> {
  health.options.probe = probe
  await health.checkAll()
}
const modes: Record<string, () => Promise<void>> = {
  'service, muxer probes (auto)': async () => {
    const wall = performance.now()
    await checks('auto')
    lastSweepWallMs = performance.now() - wall
  },
  'service, stream probes': async () => checks('stream'),
  'bare yamux pings': muxerPingRound,
  'bare stream pings': pingRound,
  idle: idleRound
}
const names = Object.keys(modes)

for (const name of names) { await modes[name]() }
const probesBefore = client.services.health.getNetworkHealthSummary().probes
const minutes: Record<string, Array<{ cpuMs: number, wallMs: number }>> = Object.fromEntries(names.map(n => [n, []]))
for (let i = 0; i < ROUNDS; i++) {
  // the order rotates too: the process is still warming up, and the first of each round would pay more
  for (let j = 0; j < names.length; j++) {
    const name = names[(i + j) % names.length]
    minutes[name].push(await minute(modes[name]))
  }
}
health.options.probe = 'auto'
const cpu = Object.fromEntries(names.map(n => [n, median(minutes[n].map(m => m.cpuMs))]))
const cpuMsPerMinute = cpu[names[0]]
const sweepWall = median(minutes[names[0]].map(m => m.wallMs))
const summary = client.services.health.getNetworkHealthSummary()

// per record: the records that exist now (a connection the remote closed
// has none), sampled after a pause and full collections, on both sides
const records: number = (client.services.health as any).records.size
const settle = async (): Promise<void> => {
  await new Promise(resolve => setTimeout(resolve, 1_000))
  gc?.()
  gc?.()
}
const used = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
await settle()
const withRecords = used()
;(client.services.health as any).stop()
await settle()
const withoutRecords = used()
const bytesPerConnection = (withRecords - withoutRecords) / records

await client.stop()
await listeners.stop()

const rows = [
  { measure: 'load average 1/5/15 min (2 cores), at the end', value: loadavg().map(l => fmt(l)).join(' / ') },
  { measure: 'monitored connections', value: connections },
  { measure: 'records measured', value: records },
  { measure: 'probes in the measured minutes', value: summary.probes - probesBefore },
  { measure: 'failed probes', value: summary.probeFailures },
  ...names.map(n => ({ measure: `${n}: CPU per minute (ms, median of ${ROUNDS}) / share of one core / ratio to muxer probes`, value: `${fmt(cpu[n], 0)} / ${fmt(cpu[n] / 600, 2)} % / ${fmt(cpu[n] / cpuMsPerMinute, 2)}x` })),
  { measure: 'muxer probes minus idle: share of one core / ratio to bare yamux pings minus idle', value: `${fmt((cpu[names[0]] - cpu.idle) / 600, 2)} % / ${fmt((cpu[names[0]] - cpu.idle) / (cpu['bare yamux pings'] - cpu.idle), 2)}x` },
  { measure: 'wall time of one sweep with muxer probes (ms)', value: fmt(sweepWall, 0) },
  { measure: 'bytes per monitored connection (heap + array buffers)', value: fmt(bytesPerConnection, 0) }
]
printTable(`${connections} monitored connections, ${INTERVAL_S} s interval (a minute of checks run back to back, median of ${ROUNDS}, modes alternating)`, rows)
process.stdout.write(`\ntargets: muxer probes < 0.5% of one core -> ${cpuMsPerMinute / 600 < 0.5 ? 'met' : 'NOT met'}; < 4 KiB per connection -> ${bytesPerConnection < 4096 ? 'met' : 'NOT met'}\n`)
process.stdout.write('CPU is the whole client process during the minutes (probes, noise, yamux included); the listeners run in a child process\n')
writeResults('health-scale', { rows, cpu, loadAverage: loadavg(), cpus: cpus().length, bytesPerConnection, connections, records, minutes })
process.exit(0)
