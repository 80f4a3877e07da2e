import { createServer, connect } from 'node:net'
import { ProxiedConnection } from './connection.ts'
import { NO_FAULTS, validateFaults } from './faults.ts'
import type { Faults } from './faults.ts'
import type { FaultProxyInit } from './index.ts'
import type { Server, Socket } from 'node:net'

/**
 * A TCP proxy on loopback that forwards every accepted connection to one
 * target and injects latency, bandwidth limits, black holes and resets.
 */
export class FaultProxy {
  private readonly init: FaultProxyInit
  private readonly faults: Faults = { ...NO_FAULTS }
  private readonly open = new Set<ProxiedConnection>()
  private server?: Server
  private nextId = 0
  private closedBytes = { bytesUp: 0, bytesDown: 0 }

  constructor (init: FaultProxyInit) {
    if (!Number.isInteger(init.target?.port) || init.target.port <= 0 || init.target.port > 65535) {
      throw new RangeError(`target.port must be a TCP port, got ${init.target?.port}`)
    }

    this.init = init
  }

  /** The port the proxy listens on (after `start()`) */
  get port (): number {
    const address = this.server?.address()

    if (address == null || typeof address === 'string') {
      throw new Error('FaultProxy is not started')
    }

    return address.port
  }

  /** The host the proxy listens on */
  get host (): string {
    return this.init.host ?? '127.0.0.1'
  }

  /** The connections open now */
  get connections (): ProxiedConnection[] {
    return [...this.open]
  }

  /** Bytes forwarded in each direction since start, over all connections */
  get stats (): { bytesUp: number, bytesDown: number, connections: number } {
    let { bytesUp, bytesDown } = this.closedBytes

    for (const conn of this.open) {
      bytesUp += conn.stats.bytesUp
      bytesDown += conn.stats.bytesDown
    }

    return { bytesUp, bytesDown, connections: this.open.size }
  }

  async start (): Promise<void> {
    if (this.server != null) {
      return
    }

    const server = createServer({ pauseOnConnect: true, noDelay: true }, (client) => { this.accept(client) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port ?? 0, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server

    if (server == null) {
      return
    }

    this.server = undefined

    for (const conn of this.open) {
      conn.destroy()
    }

    await new Promise<void>(resolve => server.close(() => { resolve() }))
  }

  setLatency (ms: number): void { this.set({ latency: ms }) }
  setBlackhole (on: boolean): void { this.set({ blackhole: on }) }
  setBandwidth (bytesPerSecond: number | undefined): void { this.set({ bandwidth: bytesPerSecond }) }

  /** Remove every fault from the proxy (connection overrides stay) */
  clearFaults (): void {
    this.set({ ...NO_FAULTS })
  }

  /** Close every open connection with a TCP RST */
  resetConnections (): void {
    for (const conn of this.open) {
      conn.reset()
    }
  }

  private set (faults: Partial<Faults>): void {
    validateFaults(faults)
    Object.assign(this.faults, faults)

    for (const conn of this.open) {
      conn.update()
    }
  }

  private accept (client: Socket): void {
    const upstream = connect({ host: this.init.target.host ?? '127.0.0.1', port: this.init.target.port, noDelay: true })
    upstream.pause()

    const conn = new ProxiedConnection(this.nextId++, client, upstream, () => this.faults, (closed) => {
      this.open.delete(closed)
      this.closedBytes = {
        bytesUp: this.closedBytes.bytesUp + closed.stats.bytesUp,
        bytesDown: this.closedBytes.bytesDown + closed.stats.bytesDown
      }
    })
    this.open.add(conn)

    upstream.once('connect', () => { conn.update() })
  }
}
