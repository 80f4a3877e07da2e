/**
 * 1,000 monitored connections (100 listener nodes in a child process, 10
 * connections to each) at a 10 s check interval: CPU time of the health
 * service per minute (six sweeps run back to back: one minute of checks)
 * and bytes per monitored connection (heap and array buffers of the
 * records, which stop() drops).
 * Targets: under 2% of one core, under 4 KiB per connection.
 *
 *   node --expose-gc bench/health/scale.ts
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { createNode } from '../lib/nodes.ts'
import { fmt, printTable, writeResults } from '../lib/stats.ts'

const LISTENERS = 100
const PER_LISTENER = 10
const INTERVAL_S = 10

if ((globalThis as any).gc == null) {
  process.stderr.write('run with node --expose-gc: the memory figure needs full collections\n')
  process.exit(1)
}

const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'listeners.ts'), String(LISTENERS)], { stdio: ['pipe', 'pipe', 'inherit'] })
const addrs: string[] = await new Promise(resolve => {
  createInterface({ input: child.stdout }).once('line', line => { resolve(JSON.parse(line)) })
})

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

// one warm-up sweep, then a minute's worth of checks
await client.services.health.checkAll()
const probesBefore = client.services.health.getNetworkHealthSummary().probes
const cpuBefore = process.cpuUsage()
const wallBefore = performance.now()
for (let i = 0; i < 60 / INTERVAL_S; i++) {
  await client.services.health.checkAll()
}
const cpu = process.cpuUsage(cpuBefore)
const sweepWall = (performance.now() - wallBefore) / (60 / INTERVAL_S)
const cpuMsPerMinute = (cpu.user + cpu.system) / 1000
const summary = client.services.health.getNetworkHealthSummary()

// per record: the records that exist now (a connection the remote closed
// has none), sampled after anything a probe left behind had time to go
// and after full collections on both sides
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
child.stdin.end()
await new Promise(resolve => child.once('exit', resolve))

const rows = [
  { measure: 'monitored connections', value: connections },
  { measure: 'records measured', value: records },
  { measure: 'probes in the measured minute', value: summary.probes - probesBefore },
  { measure: 'failed probes', value: summary.probeFailures },
  { measure: 'CPU per minute of checks (ms)', value: fmt(cpuMsPerMinute, 0) },
  { measure: 'share of one core', value: `${fmt(cpuMsPerMinute / 600, 2)} %` },
  { measure: 'wall time of one sweep (ms)', value: fmt(sweepWall, 0) },
  { measure: 'bytes per monitored connection (heap + array buffers)', value: fmt(bytesPerConnection, 0) }
]
printTable(`${connections} monitored connections, ${INTERVAL_S} s interval (one minute of checks run back to back)`, rows)
process.stdout.write(`\ntargets: < 2% of one core -> ${cpuMsPerMinute / 600 < 2 ? 'met' : 'NOT met'}; < 4 KiB per connection -> ${bytesPerConnection < 4096 ? 'met' : 'NOT met'}\n`)
process.stdout.write('CPU is the whole client process during the sweeps (probe streams, noise, yamux included); the listeners run in a child process\n')
writeResults('health-scale', { rows, cpuMsPerMinute, bytesPerConnection, connections, records })
process.exit(0)
