/**
 * The optional links: the service offering `@x/connection-pool` (streams
 * with placement and failover) and the one offering `@x/health` (adaptive
 * request timeouts), found by capability among the node's services at
 * `afterStart`, never imported.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { CONNECTION_HEALTH_CAPABILITY, CONNECTION_POOL_CAPABILITY } from '@x/interface'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

/** The slice of `@x/connection-pool` used here */
export interface PoolLike {
  newStream(peer: PeerId, protocols: string | string[], options?: AbortOptions): Promise<Stream>
}

/** The slice of `@x/health` used here */
export interface HealthLike {
  getTimeout(peer: PeerId): number
}

function find (components: any, capability: string): any {
  // libp2p keeps every component and service of the node in `components.components`
  const registered: Record<string, unknown> = components?.components ?? {}

  for (const service of Object.values(registered)) {
    const offered = (service as any)?.[serviceCapabilities]

    if (Array.isArray(offered) && offered.includes(capability)) {
      return service
    }
  }

  return undefined
}

export function findPool (components: unknown): PoolLike | undefined {
  const pool = find(components, CONNECTION_POOL_CAPABILITY)
  return typeof pool?.newStream === 'function' ? pool : undefined
}

export function findHealth (components: unknown): HealthLike | undefined {
  const health = find(components, CONNECTION_HEALTH_CAPABILITY)
  return typeof health?.getTimeout === 'function' ? health : undefined
}
