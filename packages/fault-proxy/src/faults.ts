/**
 * The faults a proxy applies to traffic. Set on the whole proxy (inherited by
 * new connections) or on one proxied connection.
 */
export interface Faults {
  /** Extra delay added to every chunk in each direction, ms */
  latency: number

  /**
   * Stop forwarding in both directions while keeping both sockets open. The
   * proxy stops reading, so TCP backpressure holds the sender as a silent
   * path would; forwarding resumes where it stopped when cleared.
   */
  blackhole: boolean

  /** Bytes per second in each direction, or undefined for unlimited */
  bandwidth?: number
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({ latency: 0, blackhole: false, bandwidth: undefined })

export function validateFaults (faults: Partial<Faults>): void {
  if (faults.latency != null && (!Number.isFinite(faults.latency) || faults.latency < 0)) {
    throw new RangeError(`latency must be a finite number >= 0, got ${faults.latency}`)
  }

  if (faults.bandwidth != null && (!Number.isFinite(faults.bandwidth) || faults.bandwidth <= 0)) {
    throw new RangeError(`bandwidth must be a finite number > 0, got ${faults.bandwidth}`)
  }
}
