import { validateFaults } from './faults.ts'
import { Link } from './link.ts'
import type { Faults } from './faults.ts'
import type { Socket } from 'node:net'

/**
 * A client connection and its upstream connection to the target, with
 * faults that default to the proxy's and can be overridden for this
 * connection alone.
 */
export class ProxiedConnection {
  public readonly id: number
  public readonly client: Socket
  public readonly upstream: Socket
  private readonly own: Partial<Faults> = {}
  private readonly inherited: () => Faults
  private readonly up: Link
  private readonly down: Link
  private readonly onClose: (conn: ProxiedConnection) => void
  private closed = false

  constructor (id: number, client: Socket, upstream: Socket, inherited: () => Faults, onClose: (conn: ProxiedConnection) => void) {
    this.id = id
    this.client = client
    this.upstream = upstream
    this.inherited = inherited
    this.onClose = onClose

    const faults = (): Faults => ({ ...this.inherited(), ...this.own })
    this.up = new Link(client, upstream, faults)
    this.down = new Link(upstream, client, faults)

    const close = (): void => { this.close() }
    client.on('close', close)
    upstream.on('close', close)
    client.on('error', close)
    upstream.on('error', close)
  }

  /** Bytes forwarded client -> target and target -> client */
  get stats (): { bytesUp: number, bytesDown: number } {
    return { bytesUp: this.up.bytes, bytesDown: this.down.bytes }
  }

  setLatency (ms: number): void { this.set({ latency: ms }) }
  setBlackhole (on: boolean): void { this.set({ blackhole: on }) }
  setBandwidth (bytesPerSecond: number | undefined): void { this.set({ bandwidth: bytesPerSecond }) }

  /** Apply the proxy's faults to this connection again */
  clearFaults (): void {
    delete this.own.latency
    delete this.own.blackhole
    delete this.own.bandwidth
    this.update()
  }

  /** Close both sides with a TCP RST */
  reset (): void {
    this.client.resetAndDestroy()
    this.upstream.resetAndDestroy()
    this.close()
  }

  /** Close both sides gracefully */
  destroy (): void {
    this.client.destroy()
    this.upstream.destroy()
    this.close()
  }

  /** Re-evaluate after the proxy's faults changed (called by the proxy) */
  update (): void {
    this.up.update()
    this.down.update()
  }

  private set (faults: Partial<Faults>): void {
    validateFaults(faults)
    Object.assign(this.own, faults)
    this.update()
  }

  private close (): void {
    if (this.closed) {
      return
    }

    this.closed = true
    this.up.stop()
    this.down.stop()
    this.client.destroy()
    this.upstream.destroy()
    this.onClose(this)
  }
}
