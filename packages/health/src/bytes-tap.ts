/**
 * Counts the bytes a connection carries on the wire by listening to its
 * underlying multiaddr connection: 'message' events for bytes read, and a
 * counting wrapper around `send` for bytes written. These are encrypted
 * bytes, so they include the few percent of noise and yamux framing. A
 * connection without an accessible `maConn` reports no bytes.
 */
import type { ByteCounter } from './bytes.ts'
import type { Connection } from '@libp2p/interface'

interface Tappable {
  addEventListener(type: 'message', listener: (evt: any) => void): void
  removeEventListener(type: 'message', listener: (evt: any) => void): void
  send(data: Uint8Array | { byteLength: number }): boolean
}

/** Starts counting; returns the function that stops it */
export function tapBytes (connection: Connection, counter: ByteCounter): () => void {
  const maConn = (connection as unknown as { maConn?: Tappable }).maConn

  if (maConn == null || typeof maConn.send !== 'function' || typeof maConn.addEventListener !== 'function') {
    return () => {}
  }

  const onMessage = (evt: { data?: { byteLength: number } }): void => {
    counter.add('in', evt.data?.byteLength ?? 0, Date.now())
  }
  const send = maConn.send
  const counted = function (this: Tappable, data: Uint8Array | { byteLength: number }): boolean {
    counter.add('out', data.byteLength, Date.now())
    return send.call(this, data)
  }

  maConn.addEventListener('message', onMessage)
  maConn.send = counted

  return () => {
    maConn.removeEventListener('message', onMessage)

    if (maConn.send === counted) {
      maConn.send = send
    }
  }
}
