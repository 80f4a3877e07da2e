/**
 * Builds NAT lab topologies (interop/lab/lab.sh) for the lab specs and
 * benches, and starts go and js peers inside their namespaces. Each lab has a
 * unique id; `down()` and a process-exit hook tear it down.
 */
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { goMissingReason, rootMissingReason, startGoPeer, startPeerProcess } from '../../src/index.ts'
import type { JsPeerConfig } from '../../lab/js-peer.ts'
import type { PeerProcess } from '../../src/index.ts'

const run = promisify(execFile)

function findLabDir (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'lab', 'lab.sh'))) { return join(dir, 'lab') }
    dir = dirname(dir)
  }
  throw new Error('interop/lab/lab.sh not found')
}

export const LAB_DIR = findLabDir()
const LAB_SH = join(LAB_DIR, 'lab.sh')
const JS_PEER = join(LAB_DIR, 'js-peer.ts')

export type NatKind = 'cone' | 'symmetric'
export type AutonatRole = 'an1' | 'an2' | 'an3' | 'an4' | 'an5' | 'an6' | 'an7' | 'an8'
export type Role = 'pub' | 'relay' | AutonatRole | 'pubjs' | 'nat1' | 'nat2' | 'a' | 'b'

/** The AutoNAT server hosts, each in its own /8 network */
export const AUTONAT_ROLES: AutonatRole[] = ['an1', 'an2', 'an3', 'an4', 'an5', 'an6', 'an7', 'an8']

export interface LabInfo {
  id: string
  nat: NatKind
  ns: Record<Role, string>
  ip: Record<Exclude<Role, 'pub'>, string>
}

/** Why the lab cannot run here, or undefined */
export function labMissingReason (): string | undefined {
  const root = rootMissingReason()
  if (root != null) { return root }
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'nft (nftables) is not installed: apt-get install -y nftables'
  }
  return goMissingReason()
}

const live = new Set<string>()

process.on('exit', () => {
  for (const id of live) {
    try { execFileSync(LAB_SH, ['down', id], { stdio: 'ignore' }) } catch { /* best effort at exit */ }
  }
})

export class Lab {
  readonly info: LabInfo
  private readonly peers: PeerProcess[] = []
  private nextPort = 0

  constructor (info: LabInfo) {
    this.info = info
  }

  /** The relay's and AutoNAT servers' go peers, once `startInfra` ran */
  relay!: PeerProcess
  autonat: PeerProcess[] = []

  get relayAddr (): string {
    return `/ip4/${this.info.ip.relay}/tcp/4001/p2p/${this.relay.peerId}`
  }

  get autonatAddrs (): string[] {
    return this.autonat.map((p, i) => `/ip4/${this.info.ip[AUTONAT_ROLES[i]]}/tcp/4001/p2p/${p.peerId}`)
  }

  /** The AutoNAT servers' QUIC addresses */
  get autonatQuicAddrs (): string[] {
    return this.autonat.map((p, i) => `/ip4/${this.info.ip[AUTONAT_ROLES[i]]}/udp/4001/quic-v1/p2p/${p.peerId}`)
  }

  /**
   * The public segment: a go relay and `autonatServers` go AutoNAT servers
   * (v1 and v2) in distinct /8s (3 by default, up to 8: AutoNAT gives up on
   * an address only after 8 failed dial-backs from distinct /8s)
   */
  async startInfra (autonatServers = 3): Promise<void> {
    const listen = ['-listen', '/ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1']
    this.relay = await this.go('relay', [...listen, '-relay-service', '-relay-service-unlimited', '-force-reachability', 'public'])
    this.autonat = await Promise.all(AUTONAT_ROLES.slice(0, autonatServers).map(async role => this.go(role, [...listen, '-autonat-service', '-force-reachability', 'public'])))
  }

  /** A go peer in a namespace (tracked and stopped by `down`) */
  async go (role: Role, args: string[]): Promise<PeerProcess> {
    const peer = await startGoPeer({ netns: this.info.ns[role], args, name: `${this.info.id}-${role}`, timeoutMs: 1_800_000 })
    this.peers.push(peer)
    return peer
  }

  /**
   * A NATed go peer on host a or b: DCUtR on, the lab relay as static relay,
   * private reachability forced, connected to the relay and three AutoNAT
   * servers so that four distinct observers confirm its NAT mapping
   */
  async natedGo (role: 'a' | 'b', extra: string[] = []): Promise<PeerProcess> {
    // a fresh port per peer: stale conntrack entries of an earlier peer on the
    // same host would otherwise change its NAT mapping
    const port = 4100 + this.nextPort++
    // go's resource manager admits 8 concurrent connections per IPv4 address:
    // everything behind one NAT shares that at the relay, so let connections
    // of earlier peers behind this NAT drain first
    const natIp = this.info.ip[role === 'a' ? 'nat1' : 'nat2']
    await until(`the relay to drop old connections from ${natIp}`, async () => {
      const { conns } = await this.relay.command<{ conns: Array<{ remoteAddr: string }> }>('conns')
      return conns.filter(c => c.remoteAddr.startsWith(`/ip4/${natIp}/`)).length <= 4 ? true : undefined
    }, 30_000, 500)
    const peer = await this.go(role, ['-listen', `/ip4/0.0.0.0/tcp/${port},/ip4/0.0.0.0/udp/${port}/quic-v1`, '-holepunch', '-relay', this.relayAddr, '-force-reachability', 'private', ...extra])
    for (const addr of [this.relayAddr, ...this.autonatAddrs.slice(0, 3)]) {
      // go's autorelay may have dialled the relay already and hit the per-IP
      // limit while old connections from this NAT drain: retry past backoff
      await until(`${role} connected to ${addr}`, async () => peer.command('connect', { addr, force: false }, 10_000).then(() => true), 20_000, 1_000)
    }
    // go registers its DCUtR handler only once it has a public (observed)
    // address, polling for one with a backoff from 250 ms: the observations
    // arrive with identify right after the connects above, so 1.5 s covers
    // it. (Asking the relay through identify-info is not reliable: go rate
    // limits identify pushes, and the relay's view is often stale.)
    await new Promise(resolve => setTimeout(resolve, 1_500))
    return peer
  }

  /** A js peer (interop/lab/js-peer.ts) in a namespace */
  async js (role: Role, config: JsPeerConfig): Promise<PeerProcess> {
    const peer = await startPeerProcess({
      command: 'ip',
      args: ['netns', 'exec', this.info.ns[role], process.execPath, JS_PEER, JSON.stringify(config)],
      name: `${this.info.id}-js-${role}`
    })
    this.peers.push(peer)
    return peer
  }

  /** Stop every peer, then remove the namespaces */
  async down (): Promise<void> {
    await Promise.all(this.peers.splice(0).map(async p => p.stop(2_000)))
    await run(LAB_SH, ['down', this.info.id])
    live.delete(this.info.id)
  }
}

export async function startLab (nat: NatKind): Promise<Lab> {
  const id = randomBytes(3).toString('hex').slice(0, 5)
  live.add(id)
  const { stdout } = await run(LAB_SH, ['up', id, nat])
  return new Lab(JSON.parse(stdout))
}

/** Poll `fn` until it returns a value, or fail after `timeoutMs` */
export async function until <T> (what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await fn()
      if (value !== undefined && value !== false) { return value as T }
    } catch (err) {
      last = err
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last != null ? ` (last error: ${(last as Error).message})` : ''}`)
}
