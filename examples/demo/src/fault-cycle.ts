/**
 * The fault cycle on the one link that runs through the TCP fault proxy:
 * healthy -> latency (one proxied connection gets +`latency` ms each way)
 * -> black hole (one proxied connection stops forwarding, sockets stay open)
 * -> recovery (every fault cleared) -> healthy ... Each phase lasts
 * `phaseMs`. Only one of the link's connections is hit at a time, so the
 * pool has healthy siblings to route to while health replaces the bad one;
 * a fault is applied only while `canFault()` says the link has such a
 * sibling (a link still forming, or refilling on a slow machine, would
 * otherwise lose its only connection): a phase that cannot apply its fault
 * says it was skipped.
 */
import type { FaultProxy, ProxiedConnection } from '@x/fault-proxy'

export type FaultPhase = 'healthy' | 'latency' | 'blackhole' | 'recovery'

export interface FaultEvent {
  at: number
  phase: FaultPhase
  detail: string
}

export interface FaultCycleInit {
  proxy: FaultProxy
  /** ms each phase lasts */
  phaseMs: number
  /** ms before the first fault */
  startDelay: number
  /** Added latency each way in the latency phase, ms */
  latency?: number
  /** Whether the link can take a fault now (it has another connection to fail over to); always, if absent */
  canFault?(): boolean
  onEvent(event: FaultEvent): void
}

const ORDER: FaultPhase[] = ['latency', 'blackhole', 'recovery', 'healthy']

export class FaultCycle {
  phase: FaultPhase = 'healthy'
  /** Completed latency -> black hole -> recovery cycles */
  cycles = 0
  /** Of those, cycles whose latency and black hole were both applied */
  faultedCycles = 0
  /** Proxy-side id of the connection the current fault is on */
  target?: number
  private readonly init: FaultCycleInit
  private timer?: ReturnType<typeof setTimeout>
  private next = 0
  /** Faults applied in the current cycle */
  private applied = 0

  constructor (init: FaultCycleInit) {
    this.init = init
  }

  /** Whether a phase is still to come (started and not stopped) */
  get running (): boolean {
    return this.timer != null
  }

  start (): void {
    this.timer ??= setTimeout(() => { this.advance() }, this.init.startDelay)
  }

  /** Ends the cycle and clears every fault; also from inside `onEvent` */
  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.clear()
  }

  private pick (): ProxiedConnection | undefined {
    // the oldest connection carrying traffic: the one most likely to hold streams
    return this.init.proxy.connections.sort((a, b) => a.id - b.id)[0]
  }

  private advance (): void {
    const phase = ORDER[this.next++ % ORDER.length]
    this.phase = phase
    let detail = ''

    switch (phase) {
      case 'latency': {
        this.applied = 0
        const conn = this.faultable() ? this.pick() : undefined
        const ms = this.init.latency ?? 150
        conn?.setLatency(ms)
        this.target = conn?.id
        detail = conn == null ? this.skipped() : `+${ms} ms each way on proxied connection #${conn.id}`
        this.applied += conn == null ? 0 : 1
        break
      }
      case 'blackhole': {
        const conn = this.faultable() ? this.init.proxy.connections.find(c => c.id === this.target) ?? this.pick() : undefined
        conn?.setBlackhole(true)
        this.target = conn?.id
        detail = conn == null ? this.skipped() : `black hole on proxied connection #${conn.id}`
        this.applied += conn == null ? 0 : 1
        break
      }
      case 'recovery':
        this.clear()
        this.cycles++
        this.faultedCycles += this.applied === 2 ? 1 : 0
        this.applied = 0
        detail = 'all faults cleared'
        break
      default:
        detail = 'link healthy'
    }

    this.timer = setTimeout(() => { this.advance() }, this.init.phaseMs)
    // a listener may stop the cycle: the next phase is then never run
    this.init.onEvent({ at: Date.now(), phase, detail })
  }

  private faultable (): boolean {
    return this.init.proxy.connections.length > 0 && (this.init.canFault?.() ?? true)
  }

  private skipped (): string {
    return this.init.proxy.connections.length === 0 ? 'skipped: no proxied connection open' : 'skipped: the link has no other connection to fail over to'
  }

  private clear (): void {
    for (const conn of this.init.proxy.connections) {
      conn.clearFaults()
    }

    this.target = undefined
  }
}
