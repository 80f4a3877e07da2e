/**
 * The optional link to `@x/health`: the service offering its capability,
 * found among the node's services at `afterStart`, never imported. Its
 * per-connection minimum RTT (measured by its own ping probes) is a base
 * RTT candidate for congestion control; its `connection:health` events are
 * heard on the event bus (`congestion.ts`).
 */
import { serviceCapabilities } from '@libp2p/interface'
import { CONNECTION_HEALTH_CAPABILITY } from '@x/interface'
import type { PeerId } from '@libp2p/interface'

/** The slice of `@x/health` used here */
export interface HealthLike {
  getConnectionHealth(peer: PeerId): { connections: Array<{ connectionId: string, rtt?: { min: number, samples: number } }> } | undefined
}

export function findHealth (components: unknown): HealthLike | undefined {
  // libp2p keeps every component and service of the node in `components.components`
  const registered: Record<string, unknown> = (components as { components?: Record<string, unknown> })?.components ?? {}

  for (const service of Object.values(registered)) {
    const offered = (service as Record<symbol, unknown>)?.[serviceCapabilities]

    if (Array.isArray(offered) && offered.includes(CONNECTION_HEALTH_CAPABILITY) && typeof (service as HealthLike).getConnectionHealth === 'function') {
      return service as HealthLike
    }
  }

  return undefined
}
