/**
 * The demo swarm: N nodes on loopback TCP. Node 0 is the bootstrap node and
 * a circuit relay server; every other node knows only its address and
 * learns the rest through pubsub peer discovery. For each pair of nodes the
 * one with the higher index fills the pool (up to 3 connections), so links
 * are not dialled from both ends.
 *
 * With faults on (and 3 or more nodes), node 1's listener has a TCP fault
 * proxy in front of it, and the last node reaches node 1 only through the
 * proxy (connection gaters keep everyone else off the proxy and node 1 from
 * dialling the last node itself): that link goes through the fault cycle.
 */
import { createServer } from 'node:net'
import { FaultProxy } from '@x/fault-proxy'
import { FaultCycle } from './fault-cycle.ts'
import { Monitor } from './monitor.ts'
import { createDemoNode, DEFAULT_TIMINGS } from './node.ts'
import { Traffic } from './traffic.ts'
import { Workload } from './workload.ts'
import type { FaultEvent } from './fault-cycle.ts'
import type { DemoLibp2p, DemoTimings } from './node.ts'
import type { TrafficInit } from './traffic.ts'
import type { WorkloadInit } from './workload.ts'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface SwarmInit {
  nodes: number
  faults: boolean
  timings?: DemoTimings
  /** ms each fault phase lasts */
  faultPhaseMs?: number
  /** ms after start before the first fault */
  faultStartDelay?: number
  /** ms between each node's requests */
  requestInterval?: number
  /** ms between samples of RTT and score */
  sampleInterval?: number
  /** Called for every request of the workload that failed (all attempts) */
  onRequestFailure?: WorkloadInit['onFailure']
  /** Called for every batched message or request that failed */
  onTrafficFailure?: TrafficInit['onFailure']
}

/** Two nodes that also hold a connection through the relay on node 0 */
export interface RelayedLink {
  /** Listens on the relay */
  target: number
  /** Dials the target through the relay */
  dialer: number
}

export interface FaultLink {
  proxy: FaultProxy
  /** The node behind the proxy */
  server: number
  /** The node that reaches it through the proxy */
  client: number
  serverPort: number
}

const MESH_INTERVAL = 2_000

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    })
  })
}

function tcpPort (ma: Multiaddr): number | undefined {
  const tcp = ma.getComponents().find(c => c.name === 'tcp')
  return tcp?.value == null ? undefined : Number(tcp.value)
}

export class Swarm {
  readonly nodes: DemoLibp2p[] = []
  readonly startedAt = Date.now()
  readonly workload: Workload
  /** Batched messages and requests between nodes, bulk bytes on the fault link */
  readonly traffic: Traffic
  readonly monitor: Monitor
  readonly link?: FaultLink
  readonly faultCycle?: FaultCycle
  readonly relayed?: RelayedLink
  private readonly index = new Map<string, number>()
  private meshTimer?: ReturnType<typeof setInterval>
  private relaying = false
  private stopping?: Promise<void>

  private constructor (nodes: DemoLibp2p[], init: SwarmInit, link?: FaultLink) {
    this.nodes = nodes
    this.link = link
    // with 4 or more nodes, node 2 also listens on node 0's relay and the last node reaches it through it too
    this.relayed = nodes.length >= 4 ? { target: 2, dialer: nodes.length - 1 } : undefined
    nodes.forEach((n, i) => this.index.set(n.peerId.toString(), i))
    this.monitor = new Monitor(nodes, (peer) => this.indexOf(peer), (node, id) => this.isProxied(node, id))
    this.workload = new Workload(nodes, {
      interval: init.requestInterval ?? 1_000,
      focus: link == null ? undefined : { from: link.client, to: link.server, interval: 300 },
      onFailure: init.onRequestFailure
    })
    this.traffic = new Traffic(nodes, (peer) => this.indexOf(peer), {
      interval: init.requestInterval ?? 1_000,
      bulk: link == null ? undefined : { client: link.client, server: link.server },
      onFailure: init.onTrafficFailure
    })

    if (link != null) {
      this.faultCycle = new FaultCycle({
        proxy: link.proxy,
        phaseMs: init.faultPhaseMs ?? 12_000,
        startDelay: init.faultStartDelay ?? 15_000,
        // one connection faulted at a time, while the client holds another to fail over to
        canFault: () => nodes[link.client].services.pool.getConnections(nodes[link.server].peerId).length >= 2,
        onEvent: (e: FaultEvent) => {
          this.monitor.add({ at: e.at, kind: 'fault', node: link.client, peer: link.server, detail: `${e.phase}: ${e.detail}` })
        }
      })
    }
  }

  static async start (init: SwarmInit): Promise<Swarm> {
    const timings = init.timings ?? DEFAULT_TIMINGS
    const nodes: DemoLibp2p[] = []
    let link: FaultLink | undefined
    // the gaters look the roles up when they are asked, once every node exists
    const roles = { server: -1, client: -1, serverPort: -1, proxyPort: -1 }
    const peerOf = (i: number): PeerId | undefined => nodes[i]?.peerId

    const gater = (self: number): any => ({
      denyDialMultiaddr: (ma: Multiaddr) => {
        if (roles.proxyPort < 0) {
          return false
        }

        const port = tcpPort(ma)
        // the client reaches the server only through the proxy, nobody else uses the proxy
        return self === roles.client ? port === roles.serverPort : port === roles.proxyPort
      },
      denyDialPeer: (peer: PeerId) => self === roles.server && peerOf(roles.client)?.equals(peer) === true
    })

    const first = await createDemoNode({ relay: true, port: 0, gater: gater(0), timings })
    await first.start()
    nodes.push(first)
    const bootstrap = first.getMultiaddrs()[0].toString()

    try {
      if (init.faults && init.nodes >= 3) {
        roles.server = 1
        roles.client = init.nodes - 1
        roles.serverPort = await freePort()
        const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: roles.serverPort } })
        await proxy.start()
        roles.proxyPort = proxy.port
        link = { proxy, server: roles.server, client: roles.client, serverPort: roles.serverPort }
      }

      const rest = await Promise.all(Array.from({ length: init.nodes - 1 }, async (_, k) => {
        const i = k + 1
        const behindProxy = i === roles.server
        return createDemoNode({
          bootstrap,
          relay: false,
          port: behindProxy ? roles.serverPort : 0,
          announce: behindProxy ? [`/ip4/127.0.0.1/tcp/${roles.serverPort}`, `/ip4/127.0.0.1/tcp/${roles.proxyPort}`] : undefined,
          relayed: init.nodes >= 4 && i === 2,
          bulkSender: i === roles.client,
          gater: gater(i),
          timings
        })
      }))
      nodes.push(...rest)
      await Promise.all(rest.map(async n => { await n.start() }))
    } catch (err) {
      await Promise.allSettled(nodes.map(async n => { await n.stop() }))
      await link?.proxy.stop()
      throw err
    }

    const swarm = new Swarm(nodes, init, link)
    swarm.monitor.start(init.sampleInterval ?? 1_000)
    swarm.meshTimer = setInterval(() => { swarm.mesh() }, MESH_INTERVAL)
    swarm.mesh()
    swarm.workload.start()
    await swarm.traffic.start()
    swarm.faultCycle?.start()
    swarm.monitor.add({ at: Date.now(), kind: 'info', detail: `${nodes.length} nodes started; bootstrap ${bootstrap}` })
    return swarm
  }

  indexOf (peer: string): number {
    return this.index.get(peer) ?? -1
  }

  /** Whether this connection of this node runs through the fault proxy */
  isProxied (node: number, connectionId: string): boolean {
    if (this.link == null || (node !== this.link.client && node !== this.link.server)) {
      return false
    }

    const conn = this.nodes[node].getConnections().find(c => c.id === connectionId)

    if (conn == null) {
      return false
    }

    const port = tcpPort(conn.remoteAddr)

    if (node === this.link.client) {
      return port === this.link.proxy.port
    }

    return this.link.proxy.connections.some(c => c.upstream.localPort === port)
  }

  /** Peers node `i` has discovered (by any mechanism) */
  discovered (i: number): PeerId[] {
    return this.nodes[i].services.connectivity.getDiscoveredPeers().map(p => p.id)
  }

  /** Every node fills its pool towards the discovered nodes with a lower index */
  private mesh (): void {
    this.nodes.forEach((node, i) => {
      for (const peer of this.discovered(i)) {
        const j = this.indexOf(peer.toString())

        if (j < 0 || j >= i) {
          continue
        }

        const pool = node.services.pool

        if (pool.getConnections(peer).length < 3 && pool.getStatus(peer) !== 'connecting') {
          pool.dial(peer).catch(() => {})
        }
      }
    })

    this.relay()
  }

  /** Keeps one relayed connection on the relayed link (relays limit their duration) */
  private relay (): void {
    const link = this.relayed

    if (link == null || this.relaying) {
      return
    }

    const dialer = this.nodes[link.dialer]
    const target = this.nodes[link.target]

    if (dialer.getConnections(target.peerId).some(c => c.limits != null)) {
      return
    }

    const circuit = target.getMultiaddrs().find(ma => ma.getComponents().some(c => c.name === 'p2p-circuit'))

    if (circuit == null) {
      return
    }

    this.relaying = true
    dialer.dial(circuit, { force: true, signal: AbortSignal.timeout(10_000) })
      .catch(() => {})
      .finally(() => { this.relaying = false })
  }

  /** Open (direct and relayed) connections between two nodes, seen from `i` */
  connectionsBetween (i: number, j: number): Connection[] {
    const peer = this.nodes[j].peerId
    return this.nodes[i].getConnections(peer)
  }

  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.meshTimer)
      this.faultCycle?.stop()
      await this.workload.stop()
      await this.traffic.stop()
      this.monitor.stop()
      await Promise.allSettled(this.nodes.map(async n => { await n.stop() }))
      await this.link?.proxy.stop()
    })()

    return this.stopping
  }
}
