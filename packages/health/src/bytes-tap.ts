/**
 * Counts the bytes a connection carries on the wire by listening to its
 * underlying multiaddr connection: 'message' events for bytes read (the
 * `ByteCounter` itself is the listener), and a counting `send` for bytes
 * written. These are encrypted bytes, so they include the few percent of
 * noise and yamux framing. A connection without an accessible `maConn`
 * reports no bytes.
 *
 * The counting `send` is one function shared by every connection (it finds
 * the counter and the original `send` on the multiaddr connection), so a
 * tapped connection costs no closures.
 */
import type { ByteCounter } from './bytes.ts'
import type { Connection } from '@libp2p/interface'

const COUNTER = Symbol.for('@x/health/byte-counter')
const SEND = Symbol.for('@x/health/send')

type Send = (data: Uint8Array | { byteLength: number }) => boolean

interface Tappable {
  addEventListener(type: 'message', listener: ByteCounter): void
  removeEventListener(type: 'message', listener: ByteCounter): void
  send: Send
  [COUNTER]?: ByteCounter
  [SEND]?: Send
}

function countedSend (this: Tappable, data: Uint8Array | { byteLength: number }): boolean {
  this[COUNTER]?.add('out', data.byteLength, Date.now())
  return (this[SEND] as Send).call(this, data)
}

function maConnOf (connection: Connection): Tappable | undefined {
  const maConn = (connection as unknown as { maConn?: Tappable }).maConn

  if (maConn == null || typeof maConn.send !== 'function' || typeof maConn.addEventListener !== 'function') {
    return undefined
  }

  return maConn
}

const noop = (): void => {}

/**
 * Starts counting the connection's bytes into `counter`; returns the
 * function that stops it (`untapBytes` bound to the connection)
 */
export function tapBytes (connection: Connection, counter: ByteCounter): () => void {
  const maConn = maConnOf(connection)

  if (maConn == null || maConn[COUNTER] != null) {
    return noop
  }

  maConn.addEventListener('message', counter)
  maConn[COUNTER] = counter

  if (maConn[SEND] == null) {
    maConn[SEND] = maConn.send
    maConn.send = countedSend
  } else if (maConn.send === maConn[SEND]) {
    // tapped before and restored; a wrapper added since still calls countedSend
    maConn.send = countedSend
  }

  return untapBytes.bind(undefined, connection)
}

/** Stops counting the connection's bytes */
export function untapBytes (connection: Connection): void {
  const maConn = maConnOf(connection)
  const counter = maConn?.[COUNTER]

  if (maConn == null || counter == null) {
    return
  }

  maConn.removeEventListener('message', counter)

  if (maConn.send === countedSend) {
    maConn.send = maConn[SEND] as Send
  }

  // set, not deleted: deleting would slow every later property access
  maConn[COUNTER] = undefined
}
