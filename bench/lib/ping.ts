/**
 * The least a ping can cost: a new `/ipfs/ping/1.0.0` stream, 32 bytes there
 * and back, close; no checks and no bookkeeping. The floor the health
 * benches compare the service's probes with.
 */
import type { Connection } from '@libp2p/interface'

export const PING = '/ipfs/ping/1.0.0'

export async function minimalPing (conn: Connection, signal: AbortSignal): Promise<void> {
  const stream = await conn.newStream(PING, { signal })
  const echoed = new Promise<void>(resolve => {
    let received = 0
    stream.addEventListener('message', (evt) => { received += evt.data.byteLength; if (received >= 32) { resolve() } })
  })
  stream.send(new Uint8Array(32).fill(7))
  await echoed
  await stream.close()
}
