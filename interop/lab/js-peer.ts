/**
 * A js-libp2p node with @x/universal-connectivity for the NAT lab, driven
 * like the go peer: one JSON config argument, JSON-line commands on stdin,
 * one result per command and events on stdout. Run with Node 24 inside a
 * namespace: `ip netns exec <ns> node interop/lab/js-peer.ts '{"listen":[...]}'`.
 *
 * Config: listen (multiaddrs), relays (static relay multiaddrs: dialled at
 * start; with `reserve` the node also listens on `<relay>/p2p-circuit`),
 * autonat (run the AutoNAT v1 client, default true), dcutr (default true),
 * natPrivateAfter, natCheckInterval, timeoutMs (overall lifetime).
 *
 * Commands: connect {addr}, dial {peerId, addrs?, useRelay?, upgradeTimeout?}
 * (dialPeerWithResult), metrics, nat, addrs, conns, ping {peerId}, exit.
 * Events: ready, nat-status, conn (open/close with path), hole-punch, addrs.
 *
 * It imports the service from the package sources so the lab does not need
 * the package built.
 */
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { echo } from '@libp2p/echo'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { UniversalConnectivity } from '../../packages/universal-connectivity/src/connectivity.ts'

const config = JSON.parse(process.argv[2] ?? '{}')
const started = Date.now()
const out = (obj: Record<string, unknown>): void => { process.stdout.write(JSON.stringify({ ts: Date.now(), ...obj }) + '\n') }

const services: Record<string, any> = {
  identify: identify(),
  ping: ping({ runOnLimitedConnection: true }),
  echo: echo({ runOnLimitedConnection: true }),
  connectivity: (components: any) => new UniversalConnectivity(components, {
    relays: config.relays ?? [],
    natPrivateAfter: config.natPrivateAfter ?? 10_000,
    natCheckInterval: config.natCheckInterval ?? 1_000,
    holePunchWindow: config.holePunchWindow ?? 30_000,
    upgradeTimeout: config.upgradeTimeout ?? 20_000
  })
}

if (config.autonat !== false) { services.autonat = autoNAT() }
if (config.dcutr !== false) { services.dcutr = dcutr() }

const listen: string[] = [...(config.listen ?? ['/ip4/0.0.0.0/tcp/0'])]

if (config.reserve === true) {
  for (const relay of config.relays ?? []) { listen.push(`${relay}/p2p-circuit`) }
}

const node = await createLibp2p({
  addresses: { listen },
  transports: [tcp(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false },
  services
})
const connectivity = node.services.connectivity as UniversalConnectivity

node.addEventListener('connectivity:nat-status', (evt) => { out({ type: 'nat-status', ...evt.detail, sinceStartMs: Date.now() - started }) })
node.addEventListener('connectivity:hole-punch', (evt) => { out({ type: 'hole-punch', peerId: evt.detail.peer.toString(), success: evt.detail.success, duration: evt.detail.duration }) })
node.addEventListener('connectivity:connection-established', (evt) => {
  out({ type: 'conn', event: 'open', peerId: evt.detail.peer.toString(), connId: evt.detail.connectionId, path: evt.detail.path, remoteAddr: evt.detail.remoteAddr.toString() })
})
node.addEventListener('connection:close', (evt) => { out({ type: 'conn', event: 'close', peerId: evt.detail.remotePeer.toString(), connId: evt.detail.id, direct: evt.detail.direct }) })
node.addEventListener('self:peer:update', () => { out({ type: 'addrs', addrs: node.getMultiaddrs().map(String), sinceStartMs: Date.now() - started }) })

const commands: Record<string, (args: any) => Promise<Record<string, unknown>>> = {
  connect: async ({ addr }) => {
    const conn = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
    return { peerId: conn.remotePeer.toString(), connId: conn.id, direct: conn.direct, limited: conn.limits != null }
  },
  dial: async ({ peerId, addrs, useRelay, upgradeTimeout }) => {
    const t = Date.now()
    const result = await connectivity.dialPeerWithResult(peerIdFromString(peerId), {
      addrs: addrs?.map((a: string) => multiaddr(a)),
      useRelay,
      upgradeTimeout,
      signal: AbortSignal.timeout(60_000)
    })
    return {
      path: result.path,
      ms: Date.now() - t,
      remoteAddr: result.connection.remoteAddr.toString(),
      direct: result.connection.direct,
      attempts: result.attempts.map(a => ({ path: a.path, addrs: a.addrs.map(String), error: a.error, duration: a.duration }))
    }
  },
  metrics: async () => JSON.parse(JSON.stringify(connectivity.getMetrics(), (_k, v) => typeof v === 'bigint' ? Number(v) : v)),
  nat: async () => ({ status: connectivity.getNatStatus(), reason: connectivity.getMetrics().nat.reason }),
  addrs: async () => ({ addrs: node.getMultiaddrs().map(String) }),
  conns: async () => ({
    conns: node.getConnections().map(c => ({ peerId: c.remotePeer.toString(), connId: c.id, remoteAddr: c.remoteAddr.toString(), direct: c.direct, limited: c.limits != null, status: c.status }))
  }),
  ping: async ({ peerId }) => {
    const rtt = await (node.services.ping as any).ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(10_000) })
    return { rttMs: rtt }
  },
  exit: async () => {
    setTimeout(() => { void node.stop().finally(() => process.exit(0)) }, 10)
    return {}
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let msg: any
  try { msg = JSON.parse(line) } catch { return }
  const handler = commands[msg.cmd]
  if (handler == null) {
    out({ type: 'result', id: msg.id, ok: false, error: `unknown command ${msg.cmd}` })
    return
  }
  handler(msg).then(
    (result) => { out({ type: 'result', id: msg.id, ok: true, ...result }) },
    (err) => { out({ type: 'result', id: msg.id, ok: false, error: `${err.name}: ${err.message}` }) }
  )
}).on('close', () => { void node.stop().finally(() => process.exit(0)) })

setTimeout(() => { void node.stop().finally(() => process.exit(0)) }, config.timeoutMs ?? 180_000).unref()

for (const relay of config.relays ?? []) {
  node.dial(multiaddr(relay), { signal: AbortSignal.timeout(10_000) }).catch((err) => { out({ type: 'error', message: `relay ${relay}: ${err.message}` }) })
}

for (const addr of config.connect ?? []) {
  node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) }).catch((err) => { out({ type: 'error', message: `connect ${addr}: ${err.message}` }) })
}

out({ type: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
