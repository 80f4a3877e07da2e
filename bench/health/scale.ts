/**
 * 1,000 monitored connections (100 listener nodes in a child process, 10
 * connections to each) at a 10 s check interval: CPU time of the health
 * service per minute (six sweeps run back to back: one minute of checks;
 * median of 4 such minutes) and bytes per monitored connection (heap and
 * array buffers of the records, which stop() drops). Side by side, the
 * floor: the same minutes of pings without the service, each a minimal
 * ping on a new stream, alternating with the minutes of checks.
 * Targets: under 2% of one core, under 4 KiB per connection.
 *
 *   node --expose-gc bench/health/scale.ts
 */
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
const ROUNDS = 4

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

// The floor, side by side: the same pings without the service's bookkeeping,
// each a minimal ping on a new stream (open, 32 bytes there and back,
// close), 16 at once. Minutes of checks and minutes of floor pings
// alternate (after one warm-up of each), medians of ROUNDS; the service
// keeps running during the floor, so its byte tap counts the floor's bytes.
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

await client.services.health.checkAll()
await pingRound()
const probesBefore = client.services.health.getNetworkHealthSummary().probes
const healthMinutes = []
const floorMinutes = []
for (let i = 0; i < ROUNDS; i++) {
  // the order alternates too: the process is still warming up, and the
  // first of each pair would pay more
  if (i % 2 === 0) {
    healthMinutes.push(await minute(async () => client.services.health.checkAll()))
    floorMinutes.push(await minute(pingRound))
  } else {
    floorMinutes.push(await minute(pingRound))
    healthMinutes.push(await minute(async () => client.services.health.checkAll()))
  }
}
const cpuMsPerMinute = median(healthMinutes.map(m => m.cpuMs))
const floorMsPerMinute = median(floorMinutes.map(m => m.cpuMs))
const sweepWall = median(healthMinutes.map(m => m.wallMs))
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
  { measure: 'monitored connections', value: connections },
  { measure: 'records measured', value: records },
  { measure: 'probes in the measured minutes', value: summary.probes - probesBefore },
  { measure: 'failed probes', value: summary.probeFailures },
  { measure: `CPU per minute of checks (ms, median of ${ROUNDS})`, value: fmt(cpuMsPerMinute, 0) },
  { measure: 'share of one core', value: `${fmt(cpuMsPerMinute / 600, 2)} %` },
  { measure: `floor: same pings without the service, CPU per minute (ms, median of ${ROUNDS})`, value: fmt(floorMsPerMinute, 0) },
  { measure: 'floor: share of one core', value: `${fmt(floorMsPerMinute / 600, 2)} %` },
  { measure: 'wall time of one sweep (ms)', value: fmt(sweepWall, 0) },
  { measure: 'bytes per monitored connection (heap + array buffers)', value: fmt(bytesPerConnection, 0) }
]
printTable(`${connections} monitored connections, ${INTERVAL_S} s interval (a minute of checks run back to back, median of ${ROUNDS})`, rows)
process.stdout.write(`\ntargets: < 2% of one core -> ${cpuMsPerMinute / 600 < 2 ? 'met' : 'NOT met'}; < 4 KiB per connection -> ${bytesPerConnection < 4096 ? 'met' : 'NOT met'}\n`)
process.stdout.write('CPU is the whole client process during the sweeps (probe streams, noise, yamux included); the listeners run in a child process\n')
process.stdout.write('the floor is what the pings alone cost (a new stream each: both ping handlers close a ping stream kept open 10 s); the service adds the difference\n')
writeResults('health-scale', { rows, cpuMsPerMinute, floorMsPerMinute, bytesPerConnection, connections, records, healthMinutes, floorMinutes })
process.exit(0)
