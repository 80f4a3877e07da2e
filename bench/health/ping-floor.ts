/**
 * Where the client CPU of a bare yamux PING round trip goes (issue 13:
 * 50 µs a probe is the target, bare pings cost about three times that).
 * CONNECTIONS connections from each of three client nodes to LISTENERS
 * listener nodes in a child process; each client's noise uses another
 * ChaCha20-Poly1305 (the default: wasm below 1,200 bytes; node:crypto;
 * pure JS). Side by side in one process, minutes alternating (a minute is
 * six sweeps of `muxer.ping()` over one client's connections, 16 at once,
 * as scale.ts's bare yamux pings), medians of ROUNDS, client CPU per ping:
 *
 * - noise default,
 * - noise with node:crypto's ChaCha20-Poly1305,
 * - noise with the pure JS one (@noble/ciphers),
 * - noise default with `Error.stackTraceLimit = 0` during the minute: the
 * length-prefixed decoder behind noise (@libp2p/utils 7.4
 * `LengthPrefixedDecoder` with noise's `uint16BEDecode`) reads the length
 * of a next message from the empty buffer after the last complete one of
 * every socket read, which throws (and catches) a RangeError, stack trace
 * and all;
 * without a stack to capture, the throw costs next to nothing, so this
 * row is what a decoder that does not throw would save.
 *
 * With MODE=<name>, only that mode, ROUNDS minutes; PROFILE=file writes a
 * V8 CPU profile of them (read it with profile-breakdown.ts).
 * V8's profiler samples wall time: a process descheduled on a busy machine
 * charges the wait to whatever ran last. For CPU time alone, run under
 * `perf`: with WAIT_FOR_SIGNAL=1 it prints `ready <pid>` on stderr after the
 * warm-up, waits for SIGUSR2 (attach `perf record -p <pid>` meanwhile;
 * `node --perf-basic-prof` names the JIT code), and prints `done` on stderr
 * after the measured minutes.
 *
 * `node bench/health/ping-floor.ts`
 * `MODE=default ROUNDS=3 PROFILE=/tmp/pings.cpuprofile node bench/health/ping-floor.ts`
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { cpus, loadavg } from 'node:os'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto, nodeCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { spawnListeners } from '../lib/listener-process.ts'
import { createNode } from '../lib/nodes.ts'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

const LISTENERS = Number(process.env.LISTENERS ?? 100)
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 1000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const SWEEPS_PER_MINUTE = 6
const CONCURRENCY = 16

const listeners = await spawnListeners(LISTENERS)

async function client (crypto: typeof defaultCrypto): Promise<{ node: Libp2p, conns: Connection[] }> {
  const node = await createNode({ addresses: { listen: [] }, connectionEncrypters: [noise({ crypto })] })
  for (let i = 0; i < CONNECTIONS; i++) {
    await node.dial(multiaddr(listeners.addrs[i % LISTENERS]), { force: true })
  }
  return { node, conns: node.getConnections().filter((c: Connection) => c.status === 'open') }
}

const wasm = await client(defaultCrypto)
const nodeChaCha = await client({ ...defaultCrypto, chaCha20Poly1305Encrypt: nodeCrypto.chaCha20Poly1305Encrypt, chaCha20Poly1305Decrypt: nodeCrypto.chaCha20Poly1305Decrypt })
const jsChaCha = await client({ ...defaultCrypto, chaCha20Poly1305Encrypt: pureJsCrypto.chaCha20Poly1305Encrypt, chaCha20Poly1305Decrypt: pureJsCrypto.chaCha20Poly1305Decrypt })

async function sweep (conns: Connection[]): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < conns.length) {
      const muxer = (conns[next++] as any).muxer
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([muxer.ping(), new Promise(resolve => { timer = setTimeout(resolve, 5_000) })])
      clearTimeout(timer)
    }
  }))
}

const modes: Record<string, { conns: Connection[], stackTraceLimit?: number }> = {
  default: { conns: wasm.conns },
  'node:crypto chacha': { conns: nodeChaCha.conns },
  'pure JS chacha': { conns: jsChaCha.conns },
  'default, no stack traces': { conns: wasm.conns, stackTraceLimit: 0 }
}
const names = process.env.MODE != null ? [process.env.MODE] : Object.keys(modes)
if (names.some(n => modes[n] == null)) {
  process.stderr.write(`MODE is one of: ${Object.keys(modes).join(', ')}\n`)
  process.exit(1)
}

async function minute (name: string): Promise<{ userUs: number, systemUs: number, pings: number }> {
  const { conns, stackTraceLimit } = modes[name]
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = stackTraceLimit ?? limit
  try {
    const before = process.cpuUsage()
    for (let i = 0; i < SWEEPS_PER_MINUTE; i++) { await sweep(conns) }
    const cpu = process.cpuUsage(before)
    return { userUs: cpu.user, systemUs: cpu.system, pings: SWEEPS_PER_MINUTE * conns.length }
  } finally {
    Error.stackTraceLimit = limit
  }
}

// warm up every mode, then settle: the dials' garbage is not the pings'
for (const name of names) { await minute(name) }
await new Promise(resolve => setTimeout(resolve, 2_000))

if (process.env.WAIT_FOR_SIGNAL === '1') {
  const signalled = new Promise(resolve => process.once('SIGUSR2', resolve))
  process.stderr.write(`ready ${process.pid}\n`)
  await signalled
}
const session = process.env.PROFILE != null ? new Session() : undefined
if (session != null) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROFILE_INTERVAL_US ?? 100) })
  await session.post('Profiler.start')
}

const minutes: Record<string, Array<{ userUs: number, systemUs: number, pings: number }>> = Object.fromEntries(names.map(n => [n, []]))
for (let i = 0; i < ROUNDS; i++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(i + j) % names.length]
    minutes[name].push(await minute(name))
  }
}

if (process.env.WAIT_FOR_SIGNAL === '1') { process.stderr.write('done\n') }
if (session != null) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(process.env.PROFILE ?? '', JSON.stringify(profile))
  session.disconnect()
}

const perPing = (name: string, pick: (m: { userUs: number, systemUs: number }) => number): number => median(minutes[name].map(m => pick(m) / m.pings))
const base = perPing(names[0], m => m.userUs + m.systemUs)
const rows = names.map(name => {
  const total = perPing(name, m => m.userUs + m.systemUs)
  return {
    mode: name,
    'user µs/ping': fmt(perPing(name, m => m.userUs), 1),
    'system µs/ping': fmt(perPing(name, m => m.systemUs), 1),
    'CPU µs/ping': fmt(total, 1),
    [`ratio to ${names[0]}`]: `${fmt(total / base, 2)}x`,
    'share of one core at 6,000 pings/min': `${fmt(total * 6000 / 600_000, 2)} %`
  }
})
printTable(`bare yamux pings on ${wasm.conns.length} connections per client, client CPU (median of ${ROUNDS} minutes of ${SWEEPS_PER_MINUTE} sweeps, modes alternating); load average ${loadavg().map(l => fmt(l)).join(' / ')}`, rows)

await Promise.all([wasm.node.stop(), nodeChaCha.node.stop(), jsChaCha.node.stop()])
await listeners.stop()
if (process.env.MODE == null) {
  writeResults('health-ping-floor', { rows, loadAverage: loadavg(), cpus: cpus().length, connections: wasm.conns.length, minutes })
}
process.exit(0)
