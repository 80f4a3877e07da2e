/**
 * What every profile shares: its part of the overrides, and the discovery
 * list with bootstrap first when there is a bootstrap list.
 */
import { bootstrap } from '@libp2p/bootstrap'
import type { PeerDiscovery } from '@libp2p/interface'
import type { UniversalConnectivityInit } from '@x/universal-connectivity'

/** The overrides a profile builds from */
export interface ProfileInit {
  bootstrap?: string[]
  swarmKey?: Uint8Array
  connectivity?: UniversalConnectivityInit
  topics?: string[]
}

export type DiscoveryFactory = (components: any) => PeerDiscovery

export function discovery (list: string[], extra: DiscoveryFactory[]): DiscoveryFactory[] {
  return list.length > 0 ? [bootstrap({ list }), ...extra] : extra
}

export function topicsOf (init: ProfileInit): { topics?: string[] } {
  return init.topics != null ? { topics: init.topics } : {}
}
