/**
 * A punched `net.Socket` as a libp2p `MultiaddrConnection`, ready for the
 * upgrader (`@libp2p/tcp` keeps its own adapter private).
 */
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { SOCKET_INACTIVITY_TIMEOUT } from './constants.ts'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Socket } from 'node:net'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SocketConnectionInit {
  socket: Socket
  remoteAddr: Multiaddr
  log: Logger
  /**
   * `outbound` when we take the client's side of the handshakes after the
   * simultaneous open, `inbound` for the server's: muxers (yamux) pick their
   * stream id parity from it
   */
  direction: 'inbound' | 'outbound'
}

export class SocketConnection extends AbstractMultiaddrConnection {
  private readonly socket: Socket

  constructor (init: SocketConnectionInit) {
    super({ remoteAddr: init.remoteAddr, direction: init.direction, log: init.log })
    this.socket = init.socket

    this.socket.on('data', (buf) => { this.onData(buf) })
    this.socket.on('drain', () => { this.safeDispatchEvent('drain') })
    this.socket.on('error', (err) => {
      this.log('socket error - %e', err)
      this.abort(err)
    })
    this.socket.setTimeout(SOCKET_INACTIVITY_TIMEOUT)
    this.socket.once('timeout', () => {
      this.abort(new Error('punched socket inactive'))
    })
    // the remote's FIN ends reading; 'close' tears the connection down
    this.socket.once('end', () => { this.onTransportClosed() })
    this.socket.once('close', (hadError) => {
      if (hadError) {
        this.abort(new Error('punched socket closed with an error'))
      } else {
        this.onTransportClosed()
      }
    })
  }

  sendData (data: Uint8ArrayList): SendResult {
    let sentBytes = 0
    let canSendMore = true

    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)

      if (!canSendMore) {
        break
      }
    }

    return { sentBytes, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.socket.destroyed) {
      return
    }

    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.socket.destroy()
        reject(options?.signal?.reason)
      }

      options?.signal?.addEventListener('abort', onAbort, { once: true })
      this.socket.once('close', () => {
        options?.signal?.removeEventListener('abort', onAbort)
        resolve()
      })
      this.socket.destroySoon()
    })
  }

  sendReset (): void {
    if (this.socket.writableEnded) {
      this.socket.destroy()
    } else {
      this.socket.resetAndDestroy()
    }
  }

  sendPause (): void {
    this.socket.pause()
  }

  sendResume (): void {
    this.socket.resume()
  }
}
