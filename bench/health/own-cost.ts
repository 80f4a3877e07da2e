/**
 * What the health service's own code costs per muxer probe, beyond the
 * ping itself: 1,000 connections without a network whose muxer answers a
 * `ping()` on the next turn of the event loop, side by side in one run,
 * modes alternating, median of ROUNDS:
 *
 * - the service's sweep with muxer probes (`probe: 'muxer'`),
 * - a bare loop over the same fake muxers (16 at once, a timer raced
 * against each ping, as `scale.ts` pings real yamux muxers),
 *
 * CPU µs per probe of each, and the difference: the bookkeeping a probe
 * adds (queue, timers, score, report). With real connections, yamux, noise
 * and the socket come on top of both (see `scale.ts`).
 *
 * `node bench/health/own-cost.ts            (add --cpu-prof to profile)`
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { connectionHealth } from '@x/health'
import { TypedEventEmitter } from 'main-event'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2pEvents, PeerId } from '@libp2p/interface'

const PEERS = 100
const PER_PEER = 10
const SWEEPS = 20
const ROUNDS = Number(process.env.ROUNDS ?? 5)
/** With JITTER=ms, the muxer answers after a random 0..JITTER ms, as on a loaded loopback: RTT changes are then reported */
const JITTER = Number(process.env.JITTER ?? 0)

const answer = async (): Promise<number> => new Promise(resolve => { JITTER > 0 ? setTimeout(resolve, Math.random() * JITTER, 0) : setImmediate(resolve, 0) })
const peers: PeerId[] = await Promise.all(Array.from({ length: PEERS }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
const conns = peers.flatMap((peer, p) => Array.from({ length: PER_PEER }, (_, i) => ({
  id: `c${p}-${i}`,
  remotePeer: peer,
  status: 'open',
  direction: 'outbound',
  streams: [],
  limits: undefined,
  multiplexer: '/yamux/1.0.0',
  muxer: { ping: answer },
  timeline: { open: Date.now() }
}))) as unknown as Connection[]
const byPeer = new Map(peers.map(peer => [peer.toString(), conns.filter(c => c.remotePeer.equals(peer))]))

const health = connectionHealth({ probe: 'muxer', checkInterval: 3_600_000, maxConcurrentProbes: 16, replaceUnhealthy: false })({
  connectionManager: {
    getConnections: (peer?: PeerId) => peer == null ? conns : byPeer.get(peer.toString()) ?? []
  } as any,
  peerStore: {} as any,
  events: new TypedEventEmitter<Libp2pEvents>(),
  logger: defaultLogger()
}) as any
health.start()

async function bareRound (): Promise<void> {
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

const modes: Record<string, () => Promise<void>> = {
  'service sweep, muxer probes': async () => health.checkAll(),
  'bare ping loop': bareRound
}
const names = Object.keys(modes)
const perProbe: Record<string, number[]> = Object.fromEntries(names.map(n => [n, []]))

for (const name of names) { await modes[name]() }

for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(r + j) % names.length]
    const before = process.cpuUsage()

    for (let s = 0; s < SWEEPS; s++) {
      await modes[name]()
    }

    const cpu = process.cpuUsage(before)
    perProbe[name].push((cpu.user + cpu.system) / (SWEEPS * conns.length))
  }
}

const failures = health.getNetworkHealthSummary().probeFailures
health.stop()

const service = median(perProbe[names[0]])
const bare = median(perProbe[names[1]])
printTable(`CPU per probe on ${conns.length} fake connections (muxer answers on the next turn), ${SWEEPS} sweeps a round, median of ${ROUNDS}`, [
  ...names.map(n => ({ mode: n, 'CPU µs / probe': median(perProbe[n]) })),
  { mode: 'the service\'s own code per probe', 'CPU µs / probe': service - bare }
])
process.stdout.write(`\nat 1,000 connections every 10 s the service's own code is ${fmt((service - bare) * 1000 / 10 / 1e6 * 100, 3)} % of a core; failed probes: ${failures}\n`)
writeResults('health-own-cost', { connections: conns.length, sweeps: SWEEPS, rounds: ROUNDS, perProbe, ownMicrosPerProbe: service - bare })
process.exit(0)
