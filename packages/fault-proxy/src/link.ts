import type { Faults } from './faults.ts'
import type { Socket } from 'node:net'

/**
 * Most bytes a link holds in its delay queue before it stops reading from
 * its source (which pushes back on the sender through TCP).
 */
export const MAX_QUEUED_BYTES = 1024 * 1024

interface Queued {
  chunk: Buffer
  deliverAt: number
}

/**
 * One direction of a proxied connection: reads from `from`, applies the
 * faults, writes to `to`, in order.
 */
export class Link {
  public bytes = 0
  private readonly from: Socket
  private readonly to: Socket
  private readonly faults: () => Faults
  private readonly queue: Queued[] = []
  private queuedBytes = 0
  private lastDeliverAt = 0
  private timer?: ReturnType<typeof setTimeout>
  private ended = false

  constructor (from: Socket, to: Socket, faults: () => Faults) {
    this.from = from
    this.to = to
    this.faults = faults

    from.on('data', (chunk: Buffer) => { this.onData(chunk) })
    from.on('end', () => {
      this.ended = true
      this.flush()
    })
    to.on('drain', () => { this.update() })
  }

  /** Re-evaluate after the faults changed */
  update (): void {
    this.flush()

    if (this.faults().blackhole || this.queuedBytes >= MAX_QUEUED_BYTES || this.to.writableNeedDrain) {
      this.from.pause()
    } else if (!this.from.destroyed) {
      this.from.resume()
    }
  }

  stop (): void {
    clearTimeout(this.timer)
    this.queue.length = 0
  }

  private onData (chunk: Buffer): void {
    const { latency, bandwidth } = this.faults()
    const now = Date.now()
    const transmit = bandwidth == null ? 0 : (chunk.byteLength / bandwidth) * 1000
    const deliverAt = Math.max(now + latency, this.lastDeliverAt + transmit)

    this.lastDeliverAt = deliverAt
    this.queue.push({ chunk, deliverAt })
    this.queuedBytes += chunk.byteLength
    this.update()
  }

  private flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined

    if (this.faults().blackhole) {
      return
    }

    const now = Date.now()

    while (this.queue.length > 0 && this.queue[0].deliverAt <= now) {
      const { chunk } = this.queue.shift() as Queued
      this.queuedBytes -= chunk.byteLength
      this.bytes += chunk.byteLength

      if (!this.to.destroyed) {
        this.to.write(chunk)
      }
    }

    if (this.queue.length > 0) {
      this.timer = setTimeout(() => { this.update() }, Math.max(0, this.queue[0].deliverAt - now))
    } else if (this.ended && !this.to.destroyed) {
      this.to.end()
    }
  }
}
