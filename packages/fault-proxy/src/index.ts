/**
 * @packageDocumentation
 *
 * A TCP proxy that injects faults between two libp2p nodes on this machine,
 * for the suite's tests, benchmarks and demo. `tc netem` is not available on
 * every kernel, so latency, bandwidth limits, black holes and resets are
 * applied in user space, per proxy or per proxied connection.
 *
 * @example Add 25 ms each way in front of a listener
 *
 * ```TypeScript
 * import { FaultProxy } from '@x/fault-proxy'
 * import { multiaddr } from '@multiformats/multiaddr'
 *
 * const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: 4001 } })
 * await proxy.start()
 * proxy.setLatency(25)
 *
 * await libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${remotePeerId}`))
 *
 * proxy.setBlackhole(true)      // the path goes silent, sockets stay open
 * proxy.setBlackhole(false)     // traffic resumes where it stopped
 * proxy.resetConnections()      // every connection gets a TCP RST
 * await proxy.stop()
 * ```
 */

export { FaultProxy } from './proxy.ts'
export { ProxiedConnection } from './connection.ts'
export type { Faults } from './faults.ts'

export interface FaultProxyInit {
  /** Where accepted connections are forwarded */
  target: {
    /** @default '127.0.0.1' */
    host?: string
    port: number
  }

  /**
   * The host to listen on
   *
   * @default '127.0.0.1'
   */
  host?: string

  /**
   * The port to listen on, 0 for any free port
   *
   * @default 0
   */
  port?: number
}
