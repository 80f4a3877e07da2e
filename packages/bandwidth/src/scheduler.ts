/**
 * The upload scheduler: who may send next, and how much.
 *
 * A stream that wants to send asks for a grant (`request`). A grant is at
 * most `GRANT_TIME` of the tightest rate over the stream (`MIN_GRANT`..
 * `MAX_GRANT` bytes) and is charged to every token bucket the stream is
 * under: the node's (`maxUpload`), its peer's (`perPeer.maxUpload`), its
 * class's (`maxRate`) and, for background classes, its connection's
 * congestion-controlled rate. A bucket in debt holds back everything under
 * it until it refills.
 *
 * Order among waiting streams:
 * 1. classes below their `minRate` first (highest priority first);
 * 2. then strict priority: a level is served only while no higher level has
 * a stream that may send;
 * 3. within a level, deficit round robin between classes, each round giving
 * a class `weight` grants' worth of bytes;
 * 4. within a class, round robin between streams, one grant each.
 *
 * When nothing at or above a stream's level is waiting (nor being woken)
 * and its buckets are not in debt, the grant is given at once (`send()`
 * keeps returning true on an idle node). Everything is bounded by the open streams: one `Flow` per
 * shaped stream, in at most one class queue.
 */
import { GRANT_TIME, MAX_GRANT, MIN_GRANT } from './constants.ts'
import { ClassQueue, Flow } from './queues.ts'
import { TokenBucket, burstFor, grantFor } from './token-bucket.ts'

export { ClassQueue, Flow }
export type { ClassQueueStats } from './queues.ts'

/** Hard bound on grants per pump, so a pump never hogs the event loop */
const MAX_GRANTS_PER_PUMP = 256

export interface SchedulerClassOptions {
  name: string
  /** Higher is served first */
  priority: number
  /** Share within its priority level */
  weight: number
  /** bytes/s, `Infinity` for none */
  maxRate: number
  /** bytes/s guaranteed ahead of priority, 0 for none */
  minRate: number
}

export interface SchedulerOptions {
  /** Node upload, bytes/s (`Infinity` for none) */
  maxUpload: number
  classes: SchedulerClassOptions[]
  /** ms of rate a bucket holds when idle */
  burstTime: number
  /** ms of rate a bucket in use keeps when the event loop is late */
  catchUpTime?: number
  now?(): number
}

interface Level {
  priority: number
  classes: ClassQueue[]
  /** DRR position */
  rr: number
  /** Waiting flows in this level */
  queued: number
}

export class Scheduler {
  readonly node: TokenBucket
  readonly classes = new Map<string, ClassQueue>()
  private readonly levels: Level[]
  private readonly burstTime: number
  private readonly catchUpTime: number
  private readonly now: () => number
  private pumpScheduled = false
  /** Flows granted by a pump are being woken: none may jump the queue meanwhile */
  private waking = false
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Infinity
  private stopped = false
  /** Flows waiting, all classes */
  queued = 0

  constructor (options: SchedulerOptions) {
    this.now = options.now ?? (() => performance.now())
    this.burstTime = options.burstTime
    this.catchUpTime = options.catchUpTime ?? 0
    const now = this.now()
    const nodeGrant = grantFor(options.maxUpload, GRANT_TIME, MIN_GRANT, MAX_GRANT)
    this.node = new TokenBucket(options.maxUpload, burstFor(options.maxUpload, options.burstTime, nodeGrant), now, this.catchUpTime)
    const levels = new Map<number, Level>()

    for (const cls of options.classes) {
      const queue = new ClassQueue(cls, options.burstTime, now, this.catchUpTime)
      queue.quantum = Math.max(1, cls.weight * nodeGrant)
      this.classes.set(cls.name, queue)
      let level = levels.get(cls.priority)

      if (level == null) {
        level = { priority: cls.priority, classes: [], rr: 0, queued: 0 }
        levels.set(cls.priority, level)
      }

      level.classes.push(queue)
    }

    this.levels = [...levels.values()].sort((a, b) => b.priority - a.priority)
  }

  /** A bucket with the burst this scheduler gives every bucket */
  bucket (rate: number): TokenBucket {
    const grant = grantFor(rate, GRANT_TIME, MIN_GRANT, MAX_GRANT)
    return new TokenBucket(rate, burstFor(rate, this.burstTime, grant), this.now(), this.catchUpTime)
  }

  /** Changes a bucket's rate (congestion control), keeping the burst rule */
  setRate (bucket: TokenBucket, rate: number): void {
    const grant = grantFor(rate, GRANT_TIME, MIN_GRANT, MAX_GRANT)
    bucket.setRate(rate, burstFor(rate, this.burstTime, grant), this.now())
    this.schedulePump()
  }

  /** A new flow in class `name` (which must exist) under the given buckets */
  flow (name: string, buckets: TokenBucket[], wake: () => void): Flow {
    const cls = this.classes.get(name)

    if (cls == null) {
      throw new Error(`unknown class ${name}`)
    }

    return new Flow(cls, [cls.maxBucket, ...buckets], wake)
  }

  /**
   * The flow has `demand` bytes to send and no credit: grants at once when
   * nothing at or above its level waits and its buckets allow it (returns
   * the credit), otherwise queues it and returns 0 (`wake` is called when
   * it gets a grant)
   */
  request (flow: Flow, demand: number): number {
    if (flow.closed || this.stopped) {
      return 0
    }

    const cls = flow.cls

    if (flow.queued) {
      cls.stats.bytes += demand - flow.demand
      flow.demand = demand
      return 0
    }

    flow.demand = demand
    const now = this.now()

    if (!this.waking && !this.pumpScheduled && !this.waitingAtOrAbove(cls.options.priority, now) && this.node.ready(now) && cls.maxBucket.ready(now) && flow.ready(now)) {
      const granted = this.charge(flow, now)
      cls.recordDelay(0, now, 0.1)
      return granted
    }

    flow.queued = true
    flow.since = now
    cls.flows.push(flow)
    cls.stats.streams++
    cls.stats.bytes += demand
    this.levelOf(cls).queued++
    this.queued++
    this.schedulePump()
    return 0
  }

  /** The flow sent `bytes` of its credit */
  consume (flow: Flow, bytes: number): void {
    flow.credit = Math.max(0, flow.credit - bytes)
  }

  /** The flow's stream is gone */
  remove (flow: Flow): void {
    flow.closed = true
    flow.credit = 0

    if (flow.queued) {
      this.dequeue(flow, flow.cls.flows.indexOf(flow))
    }
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Runs the scheduler: gives grants while buckets allow, then sets a timer */
  pump (): void {
    this.pumpScheduled = false
    this.clearTimer()

    if (this.stopped) {
      return
    }

    const now = this.now()
    const woken: Flow[] = []

    while (this.queued > 0 && woken.length < MAX_GRANTS_PER_PUMP && this.node.ready(now)) {
      const next = this.select(now)

      if (next == null) {
        break
      }

      const [cls, index] = next
      const flow = cls.flows[index]
      this.dequeue(flow, index)
      const granted = this.charge(flow, now)
      cls.deficit -= granted

      if (cls.deficit <= 0) {
        cls.fresh = true
        const level = this.levelOf(cls)
        level.rr = (level.rr + 1) % level.classes.length
      }

      cls.recordDelay(now - flow.since, now, 0.1)
      woken.push(flow)
    }

    if (woken.length >= MAX_GRANTS_PER_PUMP) {
      this.schedulePump()
    } else if (this.queued > 0) {
      this.setTimer(this.nextWait(now))
    }

    // a woken flow that asks again queues behind the others woken with it
    this.waking = true

    try {
      for (const flow of woken) {
        try {
          flow.wake()
        } catch {
          // a stream that cannot be woken is closing; its close listener removes it
        }
      }
    } finally {
      this.waking = false
    }
  }

  /** Some flow at `priority` or above waits and could go, or a class below its `minRate` waits */
  private waitingAtOrAbove (priority: number, now: number): boolean {
    for (const level of this.levels) {
      if (level.queued === 0) {
        continue
      }

      if (level.priority >= priority) {
        return true
      }

      for (const cls of level.classes) {
        if (cls.minBucket != null && cls.flows.length > 0 && cls.minBucket.ready(now)) {
          return true
        }
      }
    }

    return false
  }

  private select (now: number): [ClassQueue, number] | undefined {
    // 1. classes under their guaranteed rate, by priority
    for (const level of this.levels) {
      if (level.queued === 0) {
        continue
      }

      for (const cls of level.classes) {
        if (cls.minBucket != null && cls.flows.length > 0 && cls.minBucket.ready(now)) {
          const index = cls.eligible(now)

          if (index >= 0) {
            return [cls, index]
          }
        }
      }
    }

    // 2. strict priority; deficit round robin within a level
    for (const level of this.levels) {
      if (level.queued === 0) {
        continue
      }

      const n = level.classes.length

      for (let i = 0; i < 2 * n; i++) {
        const cls = level.classes[level.rr]
        const index = cls.eligible(now)

        if (index < 0) {
          if (cls.flows.length === 0) {
            cls.deficit = 0
            cls.fresh = true
          }

          level.rr = (level.rr + 1) % n
          continue
        }

        if (cls.fresh) {
          cls.deficit += cls.quantum
          cls.fresh = false
        }

        if (cls.deficit <= 0) {
          cls.fresh = true
          level.rr = (level.rr + 1) % n
          continue
        }

        return [cls, index]
      }
    }

    return undefined
  }

  /** Gives the flow a grant, charged to every bucket over it */
  private charge (flow: Flow, now: number): number {
    const granted = Math.max(1, Math.min(flow.demand, flow.grantSize(this.node.rate)))
    this.node.take(granted, now)

    for (const bucket of flow.buckets) {
      bucket.take(granted, now)
    }

    flow.cls.minBucket?.take(granted, now)
    flow.credit += granted
    flow.demand = Math.max(0, flow.demand - granted)
    return granted
  }

  private dequeue (flow: Flow, index: number): void {
    if (index >= 0) {
      flow.cls.flows.splice(index, 1)
    }

    flow.queued = false
    flow.cls.stats.streams--
    flow.cls.stats.bytes -= flow.demand
    this.levelOf(flow.cls).queued--
    this.queued--
  }

  private levelOf (cls: ClassQueue): Level {
    return this.levels.find(level => level.priority === cls.options.priority) as Level
  }

  /** ms until some waiting flow may go */
  private nextWait (now: number): number {
    const nodeWait = this.node.wait(now)

    if (nodeWait > 0) {
      return nodeWait
    }

    let wait = Infinity

    for (const cls of this.classes.values()) {
      if (cls.flows.length === 0) {
        continue
      }

      const classWait = cls.maxBucket.wait(now)

      for (const flow of cls.flows) {
        wait = Math.min(wait, Math.max(classWait, flow.wait(now)))
      }
    }

    return wait
  }

  schedulePump (): void {
    if (this.pumpScheduled || this.stopped) {
      return
    }

    this.pumpScheduled = true
    void Promise.resolve().then(() => { this.pump() })
  }

  private setTimer (wait: number): void {
    if (!Number.isFinite(wait)) {
      return
    }

    const at = this.now() + wait

    if (this.timer != null && this.timerAt <= at) {
      return
    }

    this.clearTimer()
    this.timerAt = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Infinity
      this.pump()
    }, Math.max(1, Math.ceil(wait)))
  }

  private clearTimer (): void {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.timerAt = Infinity
    }
  }
}
