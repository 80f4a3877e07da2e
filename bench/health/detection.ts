/**
 * Detection time: how long after a fault the health service reports the
 * connection as no longer healthy, in check intervals, for a black-holed
 * connection (the proxy stops forwarding) and one degraded by +200 ms each
 * way. Check interval 1 s without jitter, ping timeout 500 ms,
 * maxPingLatency 100 ms; 5 trials each, medians.
 * Target: at most 2 intervals plus one ping timeout after the fault.
 *
 * Then a silent peer (issue 22): 1, 3 and 8 connections to one peer through
 * one proxy that stops forwarding, replacement on (3 checks before
 * replacing): time until every connection is closed, for muxer probes
 * (the default) and stream probes, 3 trials each. Target: checks before
 * replacing x interval + one timeout, plus one interval of slack (4.5 s).
 *
 * `node bench/health/detection.ts`
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { connectionHealth } from '@x/health'
import { createLibp2p } from 'libp2p'
import { fmt, median, printTable, writeResults } from '../lib/stats.ts'

const INTERVAL = 1000
const PING_TIMEOUT = 500
const TRIALS = 5

async function trial (fault: 'blackhole' | 'latency'): Promise<number> {
  const server = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
  await server.start()
  const port = Number(server.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = new FaultProxy({ target: { port } })
  await proxy.start()
  const client = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      health: connectionHealth({ checkInterval: INTERVAL, checkJitter: 0, pingTimeout: PING_TIMEOUT, maxPingLatency: 100, replaceUnhealthy: false })
    }
  })
  await client.start()
  const conn = await client.dial(multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId}`))

  // let it settle: three probes
  while ((client.services.health.getConnectionHealth(server.peerId)?.connections[0]?.rtt?.samples ?? 0) < 3) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }

  const detected = new Promise<number>(resolve => {
    client.addEventListener('connection:health', (evt) => {
      if (evt.detail.connectionId === conn.id && evt.detail.state !== 'healthy') { resolve(performance.now()) }
    })
  })
  // fault at a random point of the interval
  await new Promise(resolve => setTimeout(resolve, Math.random() * INTERVAL))
  const faultAt = performance.now()
  if (fault === 'blackhole') { proxy.setBlackhole(true) } else { proxy.setLatency(200) }

  const at = await detected
  proxy.clearFaults()
  await client.stop()
  await server.stop()
  await proxy.stop()
  return at - faultAt
}

const results: Record<string, number[]> = { blackhole: [], latency: [] }
for (let i = 0; i < TRIALS; i++) {
  results.blackhole.push(await trial('blackhole'))
  results.latency.push(await trial('latency'))
}

/** Every connection of a silent peer closed after the black hole, ms */
async function silentTrial (n: number, probe: 'auto' | 'stream'): Promise<number> {
  const server = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: { identify: identify(), ping: ping({ maxInboundStreams: 64 }) }
  })
  await server.start()
  const port = Number(server.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
  const proxy = new FaultProxy({ target: { port } })
  await proxy.start()
  const addr = multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId}`)
  const client = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionGater: { denyDialMultiaddr: (ma) => !ma.toString().includes(`/tcp/${proxy.port}`) },
    services: {
      identify: identify(),
      health: connectionHealth({ probe, checkInterval: INTERVAL, checkJitter: 0, pingTimeout: PING_TIMEOUT })
    }
  })
  await client.start()
  const conns = []
  for (let i = 0; i < n; i++) {
    conns.push(await client.dial(addr, { force: true }))
  }
  await new Promise(resolve => setTimeout(resolve, 2 * INTERVAL + Math.random() * INTERVAL))
  const faultAt = performance.now()
  proxy.setBlackhole(true)
  const closed = await Promise.all(conns.map(async conn => new Promise<number>(resolve => {
    const poll = setInterval(() => {
      if (conn.status !== 'open') { clearInterval(poll); resolve(performance.now() - faultAt) }
    }, 10)
  })))
  await client.stop()
  await server.stop()
  await proxy.stop()
  return Math.max(...closed)
}

const silent: Record<string, number[]> = {}
for (const probe of ['auto', 'stream'] as const) {
  for (const n of [1, 3, 8]) {
    const key = `${probe === 'auto' ? 'muxer' : 'stream'} probes, ${n} connection${n > 1 ? 's' : ''}`
    silent[key] = []
    for (let i = 0; i < 3; i++) {
      silent[key].push(await silentTrial(n, probe))
    }
  }
}
const silentBound = 3 * INTERVAL + PING_TIMEOUT + INTERVAL

const bound = 2 * INTERVAL + PING_TIMEOUT
const rows = Object.entries(results).map(([fault, ms]) => ({
  fault: fault === 'blackhole' ? 'black hole' : '+200 ms each way',
  'median ms': median(ms),
  'max ms': Math.max(...ms),
  'median intervals': median(ms) / INTERVAL,
  'within 2 intervals + ping timeout': ms.every(m => m <= bound) ? 'yes' : `no (${ms.filter(m => m > bound).length}/${ms.length} over)`
}))
printTable(`Detection time, check interval ${INTERVAL} ms, ping timeout ${PING_TIMEOUT} ms (${TRIALS} trials each)`, rows)
process.stdout.write(`\nbound: ${fmt(bound, 0)} ms\n`)
const silentRows = Object.entries(silent).map(([key, ms]) => ({
  'silent peer': key,
  'median ms until all closed': median(ms),
  'max ms': Math.max(...ms),
  [`within ${silentBound} ms`]: ms.every(m => m <= silentBound) ? 'yes' : `no (${ms.filter(m => m > silentBound).length}/${ms.length} over)`
}))
printTable('A silent peer: every connection closed, 3 checks before replacing (3 trials each)', silentRows)
writeResults('health-detection', { rows, results, silentRows, silent })
process.exit(0)
