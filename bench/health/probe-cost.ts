/**
 * What one probe costs, side by side on the same 1,000 connections (TCP
 * loopback, noise, yamux; 100 listener nodes in a child process, so only
 * the prober's side is counted): client CPU per probe of
 *
 * - `@x/health` (sweeps of every connection, 16 probes at once),
 * - libp2p's own connection monitor (one ping per connection each
 * `pingInterval`, all at once),
 * - a bare ping stream opened and closed without a ping (the floor for any
 * probe that opens a stream per probe in js-libp2p 3),
 * - a minimal ping: the same stream with one 32-byte round trip and no
 * bookkeeping (the floor for a real ping probe; @x/health minus this is
 * the service's own cost),
 *
 * each minus the idle CPU of the same process over the same time, and what
 * that makes at 1,000 connections probed every 10 s, as a share of one
 * core (the target is under 2 %). Time is compressed: probes run
 * back to back; the cost of a probe does not depend on the gap between
 * probes.
 *
 * `node bench/health/probe-cost.ts`
 */
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { spawnListeners } from '../lib/listener-process.ts'
import { createNode } from '../lib/nodes.ts'
import { PING, minimalPing } from '../lib/ping.ts'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

const LISTENERS = 100
const PER_LISTENER = 10
const ROUNDS = 4
const IDLE_MS = 3_000
const INTERVAL_MS = 10_000

function cpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Bounded-concurrency map, like the health service's queue */
async function eachLimited <T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      await fn(items[next++])
    }
  }))
}

const listeners = await spawnListeners(LISTENERS)
const addrs = listeners.addrs

const client: Libp2p<any> = await createNode({
  addresses: { listen: [] },
  services: { health: connectionHealth({ checkInterval: 3_600_000, maxConcurrentProbes: 16 }) }
})

// parallel dials of one peer are coalesced even with force: one per listener at a time
for (let i = 0; i < PER_LISTENER; i++) {
  await Promise.all(addrs.map(async addr => client.dial(multiaddr(addr), { force: true })))
}
const conns: Connection[] = client.getConnections().filter((c: Connection) => c.status === 'open')
process.stdout.write(`${conns.length} connections open\n`)
await client.services.health.checkAll() // warm-up

const idle0 = cpuMs()
await sleep(IDLE_MS)
const idlePerMs = (cpuMs() - idle0) / IDLE_MS

interface Phase { name: string, perProbe: number[], wallPerRound: number[] }

async function measure (name: string, round: () => Promise<number>): Promise<Phase> {
  const phase: Phase = { name, perProbe: [], wallPerRound: [] }
  for (let i = 0; i < ROUNDS; i++) {
    const cpu0 = cpuMs()
    const wall0 = performance.now()
    const probes = await round()
    const wall = performance.now() - wall0
    phase.perProbe.push((cpuMs() - cpu0 - idlePerMs * wall) / probes)
    phase.wallPerRound.push(wall)
  }
  return phase
}

const phases: Phase[] = []

phases.push(await measure('@x/health sweep', async () => {
  const before = client.services.health.getNetworkHealthSummary().probes
  await client.services.health.checkAll()
  return client.services.health.getNetworkHealthSummary().probes - before
}))

phases.push(await measure('bare ping stream (open + close, no ping)', async () => {
  await eachLimited(conns, 16, async conn => {
    const stream = await conn.newStream(PING, { signal: AbortSignal.timeout(5_000) })
    await stream.close()
  })
  return conns.length
}))

phases.push(await measure('minimal ping (open, 32 B round trip, close; no bookkeeping)', async () => {
  await eachLimited(conns, 16, async conn => { await minimalPing(conn, AbortSignal.timeout(5_000)) })
  return conns.length
}))

// libp2p's connection monitor is not exported; load it from the package's files
try {
  const { ConnectionMonitor } = await import(new URL('connection-monitor.js', import.meta.resolve('libp2p')).href)
  const monitor = new ConnectionMonitor((client as unknown as { components: unknown }).components, { pingInterval: 1_000 })
  let answered = 0
  phases.push(await measure('libp2p connection monitor', async () => {
    for (const conn of conns) { conn.rtt = -1 }
    monitor.start()
    // its first pings go out after pingInterval; stop it once they are all
    // answered and before its next tick (stopping it aborts pings in flight,
    // and the monitor then aborts their connections)
    await sleep(1_000)
    const deadline = performance.now() + 950
    while (conns.some(c => c.rtt === -1) && performance.now() < deadline) { await sleep(5) }
    monitor.stop()
    const ok = conns.filter(c => c.status === 'open' && c.rtt != null && c.rtt >= 0).length
    answered += ok
    return Math.max(ok, 1)
  }))
  process.stdout.write(`monitor: ${answered} pings answered in ${ROUNDS} rounds; ${conns.filter(c => c.status === 'open').length} connections still open\n`)
} catch (err: any) {
  process.stdout.write(`(libp2p's connection monitor could not be loaded: ${err.message})\n`)
}

await client.stop()
await listeners.stop()

const health = median(phases[0].perProbe)
const rows = phases.map(p => {
  const perProbe = median(p.perProbe)
  return {
    prober: p.name,
    'CPU ms / probe': perProbe,
    'vs @x/health': `${fmt(perProbe / health)}x`,
    'wall ms / round of 1,000': median(p.wallPerRound),
    '% of a core, 1,000 @ 10 s': perProbe * conns.length / INTERVAL_MS * 100
  }
})
printTable(`Client CPU per probe on ${conns.length} connections, minus idle (${fmt(idlePerMs * 1000)} ms CPU/s), median of ${ROUNDS} rounds`, rows)
process.stdout.write('\nthe monitor row counts answered pings only; its idle wait for the tick is subtracted with the idle baseline\n')
process.stdout.write(`a probe that opens a stream costs at least the bare stream row: at 1,000 connections every 10 s that alone is ${fmt(rows[1]['% of a core, 1,000 @ 10 s'])} % of a core (target for @x/health: under 2 %)\n`)
process.stdout.write(`a real ping round trip on a new stream (minimal ping row) is ${fmt(rows[2]['% of a core, 1,000 @ 10 s'])} %; the service's own bookkeeping is the difference to the @x/health row: ${fmt(rows[0]['CPU ms / probe'] - rows[2]['CPU ms / probe'], 3)} ms a probe\n`)
writeResults('health-probe-cost', { connections: conns.length, rounds: ROUNDS, idleCpuMsPerSecond: idlePerMs * 1000, rows, raw: phases })
process.exit(0)
