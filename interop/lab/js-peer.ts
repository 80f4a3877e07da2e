/**
 * A js-libp2p node with @x/universal-connectivity for the NAT lab, driven
 * like the go peer: one JSON config argument, JSON-line commands on stdin,
 * one result per command and events on stdout. Run with Node 24 inside a
 * namespace: `ip netns exec <ns> node interop/lab/js-peer.ts '{"listen":[...]}'`.
 * It imports the packages by name (their built `dist`), and is type-checked
 * with the interop specs.
 *
 * Commands: connect {addr}, dial {peerId, addrs?, useRelay?, upgradeTimeout?}
 * (dialPeerWithResult), metrics, holePunching, nat, addrs, conns, ping {peerId}, exit.
 * Events: ready, nat-status, conn (open/close with path), hole-punch, addrs,
 * x-hole-punch (each `@x/hole-punching` outcome, with `holePunching: true`).
 */
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { echo } from '@libp2p/echo'
import { identify, identifyPush } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { holePunching } from '@x/hole-punching'
import { universalConnectivity } from '@x/universal-connectivity'
import { createLibp2p } from 'libp2p'
import type { Ping } from '@libp2p/ping'
import type { HolePunching } from '@x/hole-punching'
import type { UniversalConnectivity } from '@x/universal-connectivity'

/** The one JSON argument */
export interface JsPeerConfig {
  /** Listen addresses (default `/ip4/0.0.0.0/tcp/0`) */
  listen?: string[]
  /** Relay multiaddrs dialled at start; with `reserve` the node also listens on `<relay>/p2p-circuit` */
  relays?: string[]
  reserve?: boolean
  /** Multiaddrs dialled at start (AutoNAT servers, peers) */
  connect?: string[]
  /** Addresses announced besides the verified ones (`appendAnnounce`) */
  appendAnnounce?: string[]
  /** Run the AutoNAT v1 client (default true) */
  autonat?: boolean
  /** Run the AutoNAT v2 client (default false) */
  autonatV2?: boolean
  /** Run DCUtR (default true) */
  dcutr?: boolean
  /** Run `@x/hole-punching` (and identify push) in place of `@libp2p/dcutr` (default false) */
  holePunching?: boolean
  /** Add the QUIC transport (default false) */
  quic?: boolean
  natCheckInterval?: number
  holePunchWindow?: number
  upgradeTimeout?: number
  /** Overall lifetime, ms */
  timeoutMs?: number
}

interface Command {
  id?: number
  cmd?: string
  [key: string]: unknown
}

const config: JsPeerConfig = JSON.parse(process.argv[2] ?? '{}')
const started = Date.now()
const out = (obj: Record<string, unknown>): void => { process.stdout.write(JSON.stringify({ ts: Date.now(), ...obj }) + '\n') }

const listen = [...(config.listen ?? ['/ip4/0.0.0.0/tcp/0'])]

if (config.reserve === true) {
  for (const relay of config.relays ?? []) { listen.push(`${relay}/p2p-circuit`) }
}

const node = await createLibp2p({
  addresses: { listen, appendAnnounce: config.appendAnnounce },
  transports: [tcp(), ...(config.quic === true ? [quic()] : []), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false },
  services: {
    identify: identify(),
    ping: ping({ runOnLimitedConnection: true }),
    echo: echo({ runOnLimitedConnection: true }),
    connectivity: universalConnectivity({
      natCheckInterval: config.natCheckInterval ?? 1_000,
      holePunchWindow: config.holePunchWindow ?? 30_000,
      upgradeTimeout: config.upgradeTimeout ?? 20_000
    }),
    ...(config.autonat !== false ? { autonat: autoNAT() } : {}),
    ...(config.autonatV2 === true ? { autonatV2: autoNATv2() } : {}),
    ...(config.holePunching === true ? { identifyPush: identifyPush() } : {}),
    ...(config.holePunching === true
      ? { holePunching: holePunching({ onOutcome: (o) => { out({ type: 'x-hole-punch', peerId: o.peer.toString(), role: o.role, attempt: o.attempt, success: o.success, durationMs: o.durationMs, advertised: o.advertised, remoteAddr: o.remoteAddr, error: o.error, message: o.message }) } }) }
      : config.dcutr !== false ? { dcutr: dcutr() } : {})
  }
})
const connectivity: UniversalConnectivity = node.services.connectivity
const shutdown = (): void => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) }
const pinger: Ping = node.services.ping

node.addEventListener('connectivity:nat-status', (evt) => { out({ type: 'nat-status', ...evt.detail, sinceStartMs: Date.now() - started }) })
node.addEventListener('connectivity:hole-punch', (evt) => { out({ type: 'hole-punch', peerId: evt.detail.peer.toString(), success: evt.detail.success, duration: evt.detail.duration }) })
node.addEventListener('connectivity:connection-established', (evt) => {
  out({ type: 'conn', event: 'open', peerId: evt.detail.peer.toString(), connId: evt.detail.connectionId, path: evt.detail.path, remoteAddr: evt.detail.remoteAddr.toString() })
})
node.addEventListener('connection:close', (evt) => { out({ type: 'conn', event: 'close', peerId: evt.detail.remotePeer.toString(), connId: evt.detail.id, direct: evt.detail.direct }) })
node.addEventListener('self:peer:update', () => { out({ type: 'addrs', addrs: node.getMultiaddrs().map(String), sinceStartMs: Date.now() - started }) })

const str = (value: unknown, name: string): string => {
  if (typeof value !== 'string') { throw new TypeError(`${name} must be a string`) }
  return value
}

const commands: Record<string, (args: Command) => Promise<Record<string, unknown>>> = {
  connect: async (args) => {
    const conn = await node.dial(multiaddr(str(args.addr, 'addr')), { signal: AbortSignal.timeout(10_000) })
    return { peerId: conn.remotePeer.toString(), connId: conn.id, direct: conn.direct, limited: conn.limits != null }
  },
  dial: async (args) => {
    const t = Date.now()
    const addrs = Array.isArray(args.addrs) ? args.addrs.map(a => multiaddr(str(a, 'addrs[]'))) : undefined
    const result = await connectivity.dialPeerWithResult(peerIdFromString(str(args.peerId, 'peerId')), {
      addrs,
      useRelay: typeof args.useRelay === 'boolean' ? args.useRelay : undefined,
      upgradeTimeout: typeof args.upgradeTimeout === 'number' ? args.upgradeTimeout : undefined,
      signal: AbortSignal.timeout(60_000)
    })
    return {
      path: result.path,
      ms: Date.now() - t,
      remoteAddr: result.connection.remoteAddr.toString(),
      direct: result.connection.direct,
      attempts: result.attempts.map(a => ({ path: a.path, relay: a.relay, addrs: a.addrs.map(String), error: a.error, duration: a.duration }))
    }
  },
  metrics: async () => JSON.parse(JSON.stringify(connectivity.getMetrics())),
  holePunching: async () => {
    const service = (node.services as { holePunching?: HolePunching }).holePunching
    return { metrics: service?.getMetrics(), outcomes: service?.getOutcomes().map(o => ({ ...o, peer: o.peer.toString() })) }
  },
  nat: async () => ({ status: connectivity.getNatStatus(), reason: connectivity.getMetrics().nat.reason }),
  addrs: async () => ({ addrs: node.getMultiaddrs().map(String) }),
  conns: async () => ({
    conns: node.getConnections().map(c => ({ peerId: c.remotePeer.toString(), connId: c.id, remoteAddr: c.remoteAddr.toString(), direct: c.direct, limited: c.limits != null, status: c.status }))
  }),
  ping: async (args) => {
    const rtt = await pinger.ping(peerIdFromString(str(args.peerId, 'peerId')), { signal: AbortSignal.timeout(10_000) })
    return { rttMs: rtt }
  },
  exit: async () => {
    setTimeout(shutdown, 10)
    return {}
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let msg: Command
  try { msg = JSON.parse(line) } catch { return }
  const handler = commands[String(msg.cmd)]
  if (handler == null) {
    out({ type: 'result', id: msg.id, ok: false, error: `unknown command ${String(msg.cmd)}` })
    return
  }
  handler(msg).then(
    (result) => { out({ type: 'result', id: msg.id, ok: true, ...result }) },
    (err) => { out({ type: 'result', id: msg.id, ok: false, error: `${err.name}: ${err.message}` }) }
  )
}).on('close', shutdown)

setTimeout(shutdown, config.timeoutMs ?? 180_000).unref()

for (const addr of [...(config.relays ?? []), ...(config.connect ?? [])]) {
  node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) }).catch((err) => { out({ type: 'error', message: `connect ${addr}: ${err.message}` }) })
}

out({ type: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
