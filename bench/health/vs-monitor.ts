/**
 * `@x/health` against libp2p's own connection monitor, side by side on the
 * same faults, one connection through a TCP fault proxy each:
 *
 * - black hole (the proxy stops forwarding, sockets stay up): time until
 * the fault is detected (health: first `connection:health` event that is
 * not `healthy`; the monitor has no signal but the abort) and until the
 * connection is closed, in check intervals after the fault;
 * - +200 ms per round trip: the same (the monitor measures `conn.rtt` but
 * never acts on it);
 * - 5 % of pings ignored by the remote (a seeded sequence, the same for
 * both): connections closed per 100 checks, i.e. false disconnects,
 * re-dialled at once after each so the run goes on.
 *
 * The health service probes on the muxer (its default), except for the
 * loss row, whose loss is injected in the remote's ping handler: there it
 * probes with ping streams. Both ping every 400 ms. The ping timeout is 200 ms for the black hole
 * and the loss (the defaults, 10 s and 5 s, compressed 25 times with the
 * same ratio; the monitor's adaptive timeout pinned to it), and 1 s for the
 * +200 ms fault, so that, as with the real 5 s, the slow pings still
 * arrive in time and only latency can reveal the fault. Detection in
 * intervals does not depend on the interval's length; loss counts per check
 * do not either, except that the health service's 5 min stability window
 * sees 25 times more failures than it would at 10 s, which only makes its
 * row pessimistic.
 *
 * `node bench/health/vs-monitor.ts`
 */
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { connectionHealth } from '@x/health'
import { createNode } from '../lib/nodes.ts'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

const INTERVAL = 400
const PING_TIMEOUTS = { 'black hole': 200, '+200 ms RTT': 1_000, '5% pings lost': 200 }
const TRIALS = Number(process.env.TRIALS ?? 3)
/** Give up waiting for detection after this many intervals */
const CAP = 10
const LOSS_CHECKS = 60
const PING = '/ipfs/ping/1.0.0'

type Fault = 'black hole' | '+200 ms RTT' | '5% pings lost'
type Monitor = '@x/health' | 'libp2p connection monitor'

interface Trial { detected?: number, closed?: number, disconnects?: number, checks?: number }

/** mulberry32: a seeded stream of numbers in [0, 1) */
function seeded (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** A server whose ping handler swallows the pings `drop()` picks */
async function lossyServer (drop: () => boolean): Promise<Libp2p> {
  const node = await createNode({ services: { identify: identify() } })
  await node.handle(PING, async (stream: Stream) => {
    const swallow = drop()
    try {
      for await (const buf of stream) {
        if (!swallow) { stream.send(buf) }
      }
      await stream.close()
    } catch {}
  }, { maxInboundStreams: 16, runOnLimitedConnection: true })
  return node
}

async function trial (fault: Fault, monitor: Monitor): Promise<Trial> {
  const random = seeded(11)
  const server = await lossyServer(() => fault === '5% pings lost' && random() < 0.05)
  const port = Number(server.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = new FaultProxy({ target: { port } })
  await proxy.start()
  const addr = multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId}`)
  const useHealth = monitor === '@x/health'
  const PING_TIMEOUT = PING_TIMEOUTS[fault]
  const client: Libp2p<any> = await createNode({
    addresses: { listen: [] },
    connectionGater: {
      denyDialMultiaddr: (ma: any) => {
        return !new RegExp(`/tcp/${proxy.port}(/|$)`).test(ma.toString())
      }
    },
    connectionMonitor: useHealth
      ? { enabled: false }
      : { enabled: true, pingInterval: INTERVAL, pingTimeout: { minTimeout: PING_TIMEOUT, maxTimeout: PING_TIMEOUT } },
    services: useHealth
      ? {
          health: connectionHealth({
            // loss is injected in the remote's ping handler, which only stream probes meet
            probe: fault === '5% pings lost' ? 'stream' : 'auto',
            checkInterval: INTERVAL,
            checkJitter: 0,
            pingTimeout: PING_TIMEOUT,
            // +200 ms must count as slow against a loopback baseline of ~1 ms
            maxPingLatency: 100,
            unhealthyChecksBeforeReplace: 2,
            replaceGrace: 0
          })
        }
      : {}
  })

  let conn: Connection = await client.dial(addr)
  // replacements and re-dials find the peer through the proxy only (after
  // identify, which replaces the stored addresses with the listen addresses)
  const remember = async (): Promise<void> => { await client.peerStore.merge(server.peerId, { multiaddrs: [addr] }) }
  await sleep(200)
  await remember()
  const result: Trial = { disconnects: 0 }
  let faultAt = Infinity
  let measuring = true
  client.addEventListener('connection:health', (evt: CustomEvent<any>) => {
    if (evt.detail.connectionId === conn.id && evt.detail.state !== 'healthy' && result.detected == null && performance.now() >= faultAt) {
      result.detected = performance.now() - faultAt
    }
  })
  client.addEventListener('connection:close', (evt: CustomEvent<Connection>) => {
    if (measuring && evt.detail.id === conn.id && result.closed == null && performance.now() >= faultAt) {
      result.closed = performance.now() - faultAt
    }
  })

  if (fault === '5% pings lost') {
    // a steady run: count the closes, re-dialling after each
    faultAt = performance.now()
    const until = faultAt + LOSS_CHECKS * INTERVAL
    while (performance.now() < until) {
      await sleep(20)
      if (client.getConnections(server.peerId).every(c => c.status !== 'open')) {
        result.disconnects = (result.disconnects ?? 0) + 1
        conn = await client.dial(addr)
      }
    }
    // the health service may have replaced a connection without leaving the peer without one
    result.disconnects = (result.disconnects ?? 0) + (useHealth ? client.services.health.getNetworkHealthSummary().replacements : 0)
    result.checks = LOSS_CHECKS
  } else {
    // warm up, then the fault lands at a random point of an interval
    await sleep(3 * INTERVAL + Math.random() * INTERVAL)
    await remember()
    faultAt = performance.now()

    if (fault === 'black hole') {
      proxy.setBlackhole(true)
    } else {
      proxy.setLatency(100)
    }

    const deadline = faultAt + CAP * INTERVAL
    while (result.closed == null && performance.now() < deadline) {
      await sleep(20)
    }

    if (!useHealth) {
      result.detected = result.closed
    }
  }

  measuring = false
  proxy.setBlackhole(false)
  await client.stop()
  await server.stop()
  await proxy.stop()
  return result
}

const combos: Array<[Fault, Monitor]> = []
const only = process.env.FAULT
for (const fault of ['black hole', '+200 ms RTT', '5% pings lost'] as Fault[]) {
  if (only != null && !fault.includes(only)) { continue }
  for (const monitor of ['@x/health', 'libp2p connection monitor'] as Monitor[]) {
    combos.push([fault, monitor])
  }
}

const runs = new Map<string, Trial[]>()
// trials interleave the combinations so machine noise hits all alike; one loss run each is enough (a fixed sequence)
for (let i = 0; i < TRIALS; i++) {
  for (const [fault, monitor] of combos) {
    if (fault === '5% pings lost' && i > 0) { continue }
    const key = `${fault}|${monitor}`
    runs.set(key, [...(runs.get(key) ?? []), await trial(fault, monitor)])
  }
}

const intervals = (values: number[]): string => values.length === 0 ? `never (> ${CAP})` : fmt(median(values) / INTERVAL)
const rows = combos.map(([fault, monitor]) => {
  const list = runs.get(`${fault}|${monitor}`) ?? []

  if (fault === '5% pings lost') {
    const disconnects = list.reduce((n, t) => n + (t.disconnects ?? 0), 0)
    const checks = list.reduce((n, t) => n + (t.checks ?? 0), 0)
    return { fault, monitor, trials: list.length, 'detected, intervals': '-', 'closed, intervals': '-', 'closes / 100 checks': fmt(100 * disconnects / checks) }
  }

  const detected = list.map(t => t.detected).filter((n): n is number => n != null)
  const closed = list.map(t => t.closed).filter((n): n is number => n != null)
  return {
    fault,
    monitor,
    trials: list.length,
    'detected, intervals': `${intervals(detected)} (${detected.length}/${list.length})`,
    'closed, intervals': `${intervals(closed)} (${closed.length}/${list.length})`,
    'closes / 100 checks': '-'
  }
})

printTable(`@x/health vs libp2p's connection monitor: interval ${INTERVAL} ms, ping timeout ${PING_TIMEOUTS['black hole']} ms (+200 ms: ${PING_TIMEOUTS['+200 ms RTT']} ms) (medians; detection ${TRIALS} trials, loss ${LOSS_CHECKS} checks)`, rows)
for (const fault of ['black hole', '+200 ms RTT'] as const) {
  const detected = (runs.get(`${fault}|@x/health`) ?? []).map(t => t.detected)
  if (detected.length === 0) { continue }
  const bound = 2 + PING_TIMEOUTS[fault] / INTERVAL
  const met = detected.every(d => d != null && d / INTERVAL <= bound)
  process.stdout.write(`target: @x/health detects the ${fault} within 2 intervals + 1 ping timeout (${fmt(bound)} intervals) in every trial -> ${met ? 'met' : 'NOT met'}\n`)
}

writeResults('health-vs-monitor', {
  interval: INTERVAL,
  pingTimeouts: PING_TIMEOUTS,
  trials: TRIALS,
  lossChecks: LOSS_CHECKS,
  rows,
  raw: Object.fromEntries([...runs.entries()].map(([k, v]) => [k, v]))
})
process.exit(0)
