/**
 * One peer's (or one inbound stream's) outgoing items: a FIFO per priority,
 * each bounded in items and bytes, with a bounded overflow of callers
 * waiting for room (backpressure). Batches are taken high first, then
 * normal, then low, with a tenth of each batch kept for low while it has
 * items, so no priority waits forever behind a flood of another.
 */
import { QueueFullError } from './errors.ts'

export interface QueueItem {
  /** 0 high, 1 normal, 2 low */
  priority: number
  /** Bytes the item counts against the bounds */
  size: number
  /** Set when the caller gave up; the item is skipped and no longer counted */
  cancelled?: boolean
  /** Set while the item is out of the queues (taken for a frame, or cleared) */
  taken?: boolean
}

export interface QueueLimits {
  maxLength: number
  maxBytes: number
  maxWaiting: number
}

/** A FIFO with O(1) shift and unshift of a run */
class Deque<T> {
  private items: T[] = []
  private head = 0

  get length (): number {
    return this.items.length - this.head
  }

  push (item: T): void {
    this.items.push(item)
  }

  peek (): T | undefined {
    return this.items[this.head]
  }

  shift (): T | undefined {
    if (this.head >= this.items.length) {
      return undefined
    }

    const item = this.items[this.head]
    this.items[this.head++] = undefined as any

    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }

    return item
  }

  unshiftAll (items: T[]): void {
    this.items = [...items, ...this.items.slice(this.head)]
    this.head = 0
  }

  drain (): T[] {
    const items = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return items
  }
}

class Lane<T extends QueueItem> {
  readonly queued = new Deque<T>()
  readonly waiting = new Deque<T>()
  /** Live (not cancelled) items and their bytes, queued and waiting */
  length = 0
  bytes = 0
  waitingLength = 0
  queuedLength = 0
  queuedBytes = 0
}

export class PriorityQueues<T extends QueueItem> {
  private readonly lanes: Array<Lane<T>> = [new Lane(), new Lane(), new Lane()]
  private readonly limits: QueueLimits

  constructor (limits: QueueLimits) {
    this.limits = limits
  }

  /**
   * Queues the item, or puts it among the callers waiting for room (it
   * returns false then); throws `QueueFullError` when too many wait
   */
  push (item: T): boolean {
    const lane = this.lanes[item.priority]
    const fits = lane.waitingLength === 0 &&
      lane.queuedLength < this.limits.maxLength &&
      (lane.queuedLength === 0 || lane.queuedBytes + item.size <= this.limits.maxBytes)

    if (fits) {
      lane.queued.push(item)
      lane.queuedLength++
      lane.queuedBytes += item.size
    } else {
      if (lane.waitingLength >= this.limits.maxWaiting) {
        throw new QueueFullError(`${lane.waitingLength} callers already wait for room in this queue`)
      }
      lane.waiting.push(item)
      lane.waitingLength++
    }

    lane.length++
    lane.bytes += item.size
    return fits
  }

  /** Stops counting an item the caller gave up on; it is skipped when reached */
  cancel (item: T): void {
    // an item taken out (written, or in a frame being written) is no longer counted here
    if (item.cancelled === true || item.taken === true) {
      return
    }

    item.cancelled = true
    const lane = this.lanes[item.priority]
    lane.length--
    lane.bytes -= item.size
    // it keeps its room in the queue (or its place among the waiting) until it is reached
  }

  /** Live items of one priority, queued and waiting */
  lengthOf (priority: number): number {
    return this.lanes[priority].length
  }

  get length (): number {
    return this.lanes[0].length + this.lanes[1].length + this.lanes[2].length
  }

  get bytes (): number {
    return this.lanes[0].bytes + this.lanes[1].bytes + this.lanes[2].bytes
  }

  /** Live items that are queued (not waiting for room), and their bytes */
  queuedLength (): number {
    return this.lanes[0].queuedLength + this.lanes[1].queuedLength + this.lanes[2].queuedLength
  }

  /**
   * Up to `maxItems` items and about `maxBytes` bytes (at least one item),
   * high first (only high with `maxPriority` 0); the items are removed
   */
  take (maxItems: number, maxBytes: number, maxPriority = 2): T[] {
    const out: T[] = []
    const state = { bytes: 0 }
    const lowShare = this.lanes[2].length > 0 ? Math.max(1, Math.floor(maxItems / 10)) : 0

    this.takeFrom(0, out, maxItems, maxBytes, state)

    if (maxPriority === 0) {
      return out
    }

    this.takeFrom(1, out, Math.max(out.length, maxItems - lowShare), maxBytes, state)
    this.takeFrom(2, out, maxItems, maxBytes, state)
    this.takeFrom(1, out, maxItems, maxBytes, state)

    return out
  }

  private takeFrom (priority: number, out: T[], maxItems: number, maxBytes: number, state: { bytes: number }): void {
    const lane = this.lanes[priority]

    while (out.length < maxItems) {
      this.promote(lane)
      const next = lane.queued.peek()

      if (next == null) {
        return
      }

      if (next.cancelled !== true && out.length > 0 && state.bytes + next.size > maxBytes) {
        return
      }

      lane.queued.shift()
      lane.queuedLength--
      lane.queuedBytes -= next.size

      if (next.cancelled === true) {
        continue
      }

      lane.length--
      lane.bytes -= next.size
      state.bytes += next.size
      next.taken = true
      out.push(next)
    }
  }

  /** Moves waiting items into the queue while they fit */
  private promote (lane: Lane<T>): void {
    while (lane.waiting.length > 0) {
      const next = lane.waiting.peek() as T

      if (next.cancelled === true) {
        lane.waiting.shift()
        lane.waitingLength--
        continue
      }

      const fits = lane.queuedLength < this.limits.maxLength &&
        (lane.queuedLength === 0 || lane.queuedBytes + next.size <= this.limits.maxBytes)

      if (!fits) {
        return
      }

      lane.waiting.shift()
      lane.waitingLength--
      lane.queued.push(next)
      lane.queuedLength++
      lane.queuedBytes += next.size
    }
  }

  /** Puts items taken but not written back at the front of their queues, in order */
  restore (items: T[]): void {
    for (let priority = 0; priority < 3; priority++) {
      const lane = this.lanes[priority]
      const mine = items.filter(item => item.priority === priority && item.cancelled !== true)

      if (mine.length === 0) {
        continue
      }

      lane.queued.unshiftAll(mine)

      for (const item of mine) {
        item.taken = false
        lane.queuedLength++
        lane.queuedBytes += item.size
        lane.length++
        lane.bytes += item.size
      }
    }
  }

  /** Removes and returns every live item */
  clear (): T[] {
    const out: T[] = []

    for (const lane of this.lanes) {
      for (const item of [...lane.queued.drain(), ...lane.waiting.drain()]) {
        if (item.cancelled !== true) {
          item.taken = true
          out.push(item)
        }
      }
      lane.length = 0
      lane.bytes = 0
      lane.queuedLength = 0
      lane.queuedBytes = 0
      lane.waitingLength = 0
    }

    return out
  }
}
