/**
 * The soak's go-libp2p peers (`@x/interop`'s go peer): each keeps its key
 * file, so a peer killed and started again comes back with the same peer id
 * (on a new port). Every process is ended by its pid; `pids` lists every one
 * ever started, so the soak can prove none is left behind. They run the
 * fleet's own copy of the go peer binary: a build for new go sources
 * (another run, during the soak) deletes the old binary, and a killed peer
 * could not be started again.
 */
import { chmod, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildGoPeer, GO_PEER_COMMANDS, startPeerProcess, tcpAddr } from '@x/interop'
import type { GoPeer, GoPeerCommands } from '@x/interop'

/** `start()` was called, or its process came up, after `stopAll()` */
export class GoFleetStoppedError extends Error {
  static name = 'GoFleetStoppedError'
  name = 'GoFleetStoppedError'
}

export interface FleetPeer {
  index: number
  keyFile: string
  proc?: GoPeer
  peerId: string
  /** Its TCP address with /p2p/, once started */
  addr: string
  state: 'running' | 'stopped' | 'killed'
}

export class GoFleet {
  readonly peers: FleetPeer[]
  /** Every go peer pid started, in order */
  readonly pids: number[] = []
  private readonly lifetimeMs: number
  private readonly dir: string
  /** The fleet's copy of the go peer binary, made on the first start */
  private binary?: Promise<string>
  private stopped = false
  /** Starts under way (their process may be up, its pid not known yet) */
  private starting = 0

  /**
   * @param count - go peers
   * @param dir - where their key files go
   * @param lifetimeMs - each process exits by itself after this (a bound in case this process dies)
   */
  constructor (count: number, dir: string, lifetimeMs: number) {
    this.lifetimeMs = lifetimeMs
    this.dir = dir
    this.peers = Array.from({ length: count }, (_, index) => ({ index, keyFile: join(dir, `go-${index}.key`), peerId: '', addr: '', state: 'killed' }))
  }

  /** Starts go peer `index`; rejects with `GoFleetStoppedError` (its process ended) once `stopAll()` was called */
  async start (index: number): Promise<FleetPeer> {
    if (this.stopped) {
      throw new GoFleetStoppedError(`go${index} not started: the fleet is stopped`)
    }

    const peer = this.peers[index]
    this.starting++
    let proc: GoPeer

    try {
      // a failed copy is tried again on the next start
      this.binary ??= this.copyBinary().catch((err: Error) => { this.binary = undefined; throw err })
      proc = await startPeerProcess<GoPeerCommands>({
        command: await this.binary,
        args: ['-timeout', `${Math.round(this.lifetimeMs / 1000)}s`, '-key', peer.keyFile, '-transports', 'tcp'],
        name: `go-${index}`,
        commands: GO_PEER_COMMANDS
      })
      this.pids.push(proc.pid)
    } finally {
      this.starting--
    }

    // stopAll() ran while it was starting (the soak ended during a kill's down time): end it here
    if (this.stopped) {
      await proc.stop()
      throw new GoFleetStoppedError(`go${index} started after the fleet was stopped; stopped again`)
    }

    peer.proc = proc
    peer.peerId = proc.peerId
    peer.addr = tcpAddr(proc.addrs)
    peer.state = 'running'
    return peer
  }

  private async copyBinary (): Promise<string> {
    const copy = join(this.dir, 'go-peer-soak')
    await copyFile(await buildGoPeer(), copy)
    await chmod(copy, 0o755)
    return copy
  }

  async startAll (): Promise<void> {
    await Promise.all(this.peers.map(async p => this.start(p.index)))
  }

  /** SIGSTOP: the process stays, its connections go silent */
  pause (index: number): void {
    this.peers[index].proc?.kill('SIGSTOP')
    this.peers[index].state = 'stopped'
  }

  resume (index: number): void {
    this.peers[index].proc?.kill('SIGCONT')
    this.peers[index].state = 'running'
  }

  /** SIGKILL, waiting for the process to be gone */
  async kill (index: number): Promise<void> {
    const proc = this.peers[index].proc
    this.peers[index].state = 'killed'

    if (proc != null) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  }

  /**
   * Go processes alive that should not be: those the fleet ended, and child
   * go processes (`children`) it never knew beyond one per start under way
   * (a process is up before `start()` learns its pid: a kill's restart
   * counted as left behind). `children` are this process's live go
   * children (`childProcesses('go-peer')`), the only sign of life trusted: a
   * go peer of ours stays our child while it lives, and a pid that answers
   * `kill(pid, 0)` may be another process's since the go peer ended (pids
   * wrap around within minutes on a busy machine)
   */
  leftBehind (children: number[]): number {
    const live = this.livePids()
    const ended = this.pids.filter(pid => !live.includes(pid) && children.includes(pid)).length
    const unknown = children.filter(pid => !this.pids.includes(pid)).length
    return ended + Math.max(0, unknown - this.starting)
  }

  /** Pids that should be alive now */
  livePids (): number[] {
    return this.peers.filter(p => p.state !== 'killed' && p.proc != null).map(p => p.proc?.pid as number)
  }

  /** Stops every go peer; a `start()` still under way ends its process as soon as it is up */
  async stopAll (): Promise<void> {
    this.stopped = true
    await Promise.all(this.peers.map(async p => {
      const proc = p.proc

      if (proc == null || p.state === 'killed') {
        return
      }

      p.state = 'killed'
      // a stopped process cannot read `exit`: stop() sends SIGCONT first
      await proc.stop()
    }))
  }
}
