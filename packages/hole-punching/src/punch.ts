/**
 * The TCP side of a punch, without SO_REUSEPORT: pick a free local port P
 * before the exchange (we advertise `<NAT IP>:P`), then connect from P to the
 * peer's addresses at the agreed time. Behind a port-preserving NAT our SYN
 * leaves as `<NAT IP>:P` and opens the mapping the peer's SYN needs; if the
 * SYNs cross, TCP's simultaneous open makes one connection of the two; if
 * the peer's SYN arrives after ours left, it matches our conntrack entry and
 * reaches our socket in SYN_SENT (also a simultaneous open).
 *
 * Nothing listens on P, so no SO_REUSEPORT is needed: Node binds the
 * connecting socket to P with SO_REUSEADDR (libuv sets it on every bind),
 * which also lets the sockets of one punch share P toward distinct peers.
 */
import { createServer, connect } from 'node:net'
import { PunchFailedError } from './errors.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Socket } from 'node:net'

export interface HostPort {
  host: string
  port: number
}

/** A free local TCP port (the OS picks one; we release it at once and bind it again for the punch) */
export async function pickLocalPort (options: AbortOptions = {}): Promise<number> {
  options.signal?.throwIfAborted()
  const server = createServer()

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '0.0.0.0', exclusive: true }, () => {
      const address = server.address()
      server.close(() => {
        if (address == null || typeof address === 'string') {
          reject(new Error('no port from the OS'))
          return
        }
        resolve(address.port)
      })
    })
  })
}

/**
 * Connect from `localPort` to every address at once; resolves with the first
 * socket that connects (the others are destroyed), rejects with
 * `PunchFailedError` when all fail, or with the signal's reason
 */
export async function connectFrom (addrs: HostPort[], localPort: number, options: AbortOptions = {}): Promise<{ socket: Socket, addr: HostPort }> {
  options.signal?.throwIfAborted()

  if (addrs.length === 0) {
    throw new PunchFailedError('no address to dial')
  }

  return new Promise((resolve, reject) => {
    const sockets: Socket[] = []
    const errors: string[] = []
    const state = { settled: false }

    const finish = (winner?: Socket): void => {
      state.settled = true
      options.signal?.removeEventListener('abort', onAbort)

      for (const socket of sockets) {
        if (socket !== winner) {
          socket.destroy()
        }
      }
    }

    const onAbort = (): void => {
      if (!state.settled) {
        finish()
        reject(options.signal?.reason)
      }
    }

    options.signal?.addEventListener('abort', onAbort, { once: true })

    for (const addr of addrs) {
      const socket = connect({ host: addr.host, port: addr.port, localPort, localAddress: '0.0.0.0', noDelay: true })
      sockets.push(socket)

      socket.once('connect', () => {
        if (state.settled) {
          socket.destroy()
          return
        }
        socket.removeAllListeners('error')
        finish(socket)
        resolve({ socket, addr })
      })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        errors.push(`${addr.host}:${addr.port}: ${err.code ?? err.message}`)

        if (!state.settled && errors.length === addrs.length) {
          finish()
          reject(new PunchFailedError(`no simultaneous connect from port ${localPort}: ${errors.join(', ')}`))
        }
      })
    }
  })
}
