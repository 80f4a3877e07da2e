/**
 * Stream helpers for the specs, on the libp2p 3 stream API.
 */
import { pEvent } from 'p-event'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream } from '@libp2p/interface'

/** Bytes written per `send` */
const CHUNK = 64 * 1024

/**
 * Sends `data`, half-closes the writable end, and resolves with everything
 * the remote sent back until it closed its end.
 */
export async function sendAndReceiveAll (stream: Stream, data: Uint8Array): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  const finished = new Promise<void>((resolve, reject) => {
    stream.addEventListener('close', (evt) => {
      if (evt.error != null) {
        reject(evt.error)
      } else {
        resolve()
      }
    })
  })

  stream.addEventListener('message', (evt) => {
    received.append(evt.data)
  })

  for (let offset = 0; offset < data.byteLength; offset += CHUNK) {
    if (!stream.send(data.subarray(offset, offset + CHUNK))) {
      await pEvent(stream, 'drain', { rejectionEvents: ['close'] })
    }
  }

  await stream.close()
  await finished

  return received.subarray()
}
