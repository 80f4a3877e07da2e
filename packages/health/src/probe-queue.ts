/**
 * A queue that bounds how many probes run at once, in all and per key.
 */

/**
 * Runs at most `limit` tasks at once, and one per key at a time, in order
 * otherwise. Stream probes are keyed by peer: go-libp2p's resource manager
 * allows a peer only two inbound ping streams (across all its connections)
 * and resets the rest, so probing several connections of one go peer at
 * once fails probes of healthy connections. A task that runs longer than
 * `lease` lets the next task of its key start (a peer that answers within
 * the lease is never probed twice at once; the connections of a dead peer
 * are not probed one timeout after another, which would make a sweep of a
 * peer with three dead connections take three ping timeouts), but never
 * more than `perKeyLimit` tasks of a key run at once (2 for stream probes:
 * a slow but live go peer would reset a third), not even for a key whose
 * tasks do not wait for each other otherwise (`setUnbounded`). Muxer probes
 * open no stream and are keyed by connection, without a lease (`run(key,
 * task, false)`: one timer less a probe).
 */
export class ProbeQueue {
  private readonly limit: number
  private readonly lease: number
  private readonly perKeyLimit: number
  private running = 0
  /** Tasks running (or starting) per key, for keys with any */
  private readonly runningByKey = new Map<string, number>()
  /** Keys with a task running within its lease, and the task holding it */
  private readonly busy = new Map<string, object>()
  /** Tasks waiting, per key, in order */
  private readonly waiting = new Map<string, Array<() => void>>()
  /** Keys with waiting tasks and none holding them, in the order they became so, from `readyAt` */
  private ready: string[] = []
  private readyAt = 0
  /** Keys whose tasks do not wait for each other's lease (a silent peer's), still at most `perKeyLimit` at once; one entry per key in use */
  private readonly unbounded = new Set<string>()

  constructor (limit: number, lease = Infinity, perKeyLimit = Infinity) {
    this.limit = limit
    this.lease = lease
    this.perKeyLimit = perKeyLimit
  }

  /** Whether another task of `key` may start now (slots aside) */
  private startable (key: string): boolean {
    return (this.unbounded.has(key) || !this.busy.has(key)) && (this.runningByKey.get(key) ?? 0) < this.perKeyLimit
  }

  get active (): number {
    return this.running
  }

  /**
   * Lets the tasks of `key` run without waiting for each other's lease
   * (still within `limit` and `perKeyLimit`), or, with `on` false, one at a
   * time again
   */
  setUnbounded (key: string, on: boolean): void {
    if (!on) {
      this.unbounded.delete(key)
      return
    }

    if (!this.unbounded.has(key)) {
      this.unbounded.add(key)

      if (this.waiting.has(key)) {
        this.ready.push(key)
        this.pump()
      }
    }
  }

  /** Runs `task` under `key`; `leased` false: no lease timer (keys whose tasks never overlap) */
  async run <T> (key: string, task: () => Promise<T>, leased = true): Promise<T> {
    if (this.running < this.limit && this.startable(key)) {
      this.running++
      this.runningByKey.set(key, (this.runningByKey.get(key) ?? 0) + 1)
    } else {
      // pump() reserves the slot and the key before starting it
      await new Promise<void>(resolve => {
        const queue = this.waiting.get(key)

        if (queue == null) {
          this.waiting.set(key, [resolve])

          if (!this.busy.has(key) || this.unbounded.has(key)) {
            this.ready.push(key)
          }
        } else {
          queue.push(resolve)
        }
      })
    }

    const holder = {}

    if (!this.unbounded.has(key)) {
      this.busy.set(key, holder)
    }

    const lease = leased && Number.isFinite(this.lease) ? setTimeout(() => { this.release(key, holder) }, this.lease) : undefined

    try {
      return await task()
    } finally {
      clearTimeout(lease)
      this.running--
      const left = (this.runningByKey.get(key) ?? 1) - 1

      if (left > 0) {
        this.runningByKey.set(key, left)
      } else {
        this.runningByKey.delete(key)
      }

      if (this.busy.get(key) !== holder && !this.busy.has(key) && this.waiting.has(key)) {
        // its lease ran out earlier, but a task waiting on the per-key limit can start now
        this.ready.push(key)
      }

      this.release(key, holder)
    }
  }

  /** Frees `key` if `holder` still holds it, and starts what can start */
  private release (key: string, holder: object): void {
    if (this.busy.get(key) === holder) {
      this.busy.delete(key)

      if (this.waiting.has(key)) {
        this.ready.push(key)
      }
    }

    this.pump()
  }

  /** Starts tasks of ready keys while slots remain */
  private pump (): void {
    while (this.running < this.limit && this.readyAt < this.ready.length) {
      const key = this.ready[this.readyAt++]

      if (this.readyAt === this.ready.length) {
        this.ready = []
        this.readyAt = 0
      } else if (this.readyAt > 1024 && this.readyAt * 2 > this.ready.length) {
        // a queue that never drains still drops the keys it took
        this.ready = this.ready.slice(this.readyAt)
        this.readyAt = 0
      }

      const queue = this.waiting.get(key)

      if (queue == null || !this.startable(key)) {
        // at its per-key limit: ready again when one of its tasks ends
        continue
      }

      const start = queue.shift() as () => void

      if (queue.length === 0) {
        this.waiting.delete(key)
      }

      this.running++
      this.runningByKey.set(key, (this.runningByKey.get(key) ?? 0) + 1)

      if (this.unbounded.has(key)) {
        if (queue.length > 0) {
          this.ready.push(key)
        }
      } else {
        // held until the task itself takes the key, as its first step
        this.busy.set(key, this)
      }

      start()
    }
  }
}
