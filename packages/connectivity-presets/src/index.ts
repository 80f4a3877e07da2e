/**
 * @packageDocumentation
 *
 * Whole `createLibp2p` options for four kinds of node, each with
 * `@x/universal-connectivity`. This package carries the transports and
 * services (native QUIC and WebRTC among them); the service itself lives in
 * `@x/universal-connectivity` and needs nothing but libp2p's interfaces.
 *
 * | profile | transports | discovery | services |
 * | --- | --- | --- | --- |
 * | `server` | TCP, WebSockets, QUIC, WebRTC Direct, circuit relay; dials public addresses only | bootstrap (public list), pubsub (public addresses only) | identify, ping, gossipsub, kad-dht (client until AutoNAT verifies an address, then server; public addresses), AutoNAT v1 + v2, relay server, DCUtR, connectivity |
 * | `browser` | WebSockets, WebTransport, WebRTC, WebRTC Direct, circuit relay (listening on `/p2p-circuit` and `/webrtc`) | bootstrap (public list), pubsub | identify, ping, gossipsub, DCUtR, connectivity (no mDNS, no relay server) |
 * | `private` | TCP, WebSockets, behind a pre-shared key (`@libp2p/pnet`) | mDNS, bootstrap (only `overrides.bootstrap`), pubsub | identify, ping, gossipsub, kad-dht (server, private addresses only), connectivity |
 * | `development` | TCP, WebSockets, QUIC, circuit relay, on loopback; 256 inbound connections per second per host, 256 upgrading at once | mDNS, pubsub (1 s intervals), bootstrap if given | identify, ping, gossipsub, kad-dht (all addresses), AutoNAT, relay server, DCUtR, connectivity |
 *
 * The `browser` profile imports no Node built-in: in a browser build (the
 * `browser` field of package.json) the other three are left out and throw
 * `UnsupportedProfileError`.
 *
 * @example A development node
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { connectivityPreset } from '@x/connectivity-presets'
 *
 * const node = await createLibp2p(connectivityPreset('development'))
 * node.services.connectivity.getNatStatus() // 'unknown' until verified
 * ```
 */

import { MissingSwarmKeyError, UnknownProfileError, UnsupportedProfileError } from './errors.ts'
import { development, privateNetwork, server } from './node-profiles.ts'
import { browser } from './profiles/browser.ts'
import type { ProfileInit } from './profiles/discovery.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { UniversalConnectivity, UniversalConnectivityInit } from '@x/universal-connectivity'
import type { Libp2pOptions } from 'libp2p'

export { PUBLIC_BOOTSTRAP_PEERS } from './constants.ts'
export { publicDialsOnly } from './gater.ts'
export type { PublicDialsOnlyInit } from './gater.ts'
export { MissingSwarmKeyError, UnknownProfileError, UnsupportedProfileError }

/** Services of a preset, by key (`identify`, `ping`, `pubsub`, `dht`, `autonat`, `relay`, `dcutr`, `connectivity`...) */
export interface PresetServices {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  connectivity: UniversalConnectivity
  dht?: KadDHT
  relay?: CircuitRelayService
  [name: string]: unknown
}

export type ConnectivityProfile = 'server' | 'browser' | 'private' | 'development'

export interface PresetOverrides extends Libp2pOptions<PresetServices> {
  /**
   * Bootstrap peers replacing the profile's list; `[]` turns bootstrap off
   *
   * @default the public libp2p list (server, browser), none (private, development)
   */
  bootstrap?: string[]

  /**
   * The private network's swarm key (`generateKey` of `@libp2p/pnet`); required by `private`
   *
   * @default undefined
   */
  swarmKey?: Uint8Array

  /**
   * Options for the connectivity service
   *
   * @default {}
   */
  connectivity?: UniversalConnectivityInit

  /**
   * Topics for pubsub peer discovery (the `topics` option of `@x/pubsub-peer-discovery`)
   *
   * @default its default topic
   */
  topics?: string[]
}

const PROFILES: Record<ConnectivityProfile, (init: ProfileInit) => Libp2pOptions<PresetServices>> = {
  server,
  browser,
  private: privateNetwork,
  development
}

/**
 * `createLibp2p` options for a profile. Plain `Libp2pOptions` fields in
 * `overrides` replace the profile's; `overrides.services` is merged key by
 * key (set a key to `undefined` to drop a service), and
 * `overrides.connectionManager` field by field (set a field to `undefined`
 * for libp2p's default), so setting `maxConnections` keeps the development
 * profile's inbound limits.
 */
export function connectivityPreset (profile: ConnectivityProfile, overrides: PresetOverrides = {}): Libp2pOptions<PresetServices> {
  const { bootstrap, swarmKey, connectivity, topics, services, connectionManager, ...rest } = overrides
  const build = Object.hasOwn(PROFILES, profile) ? PROFILES[profile] : undefined

  if (build == null) {
    throw new UnknownProfileError(`unknown profile ${String(profile)}; use server, browser, private or development`)
  }

  const base = build({ bootstrap, swarmKey, connectivity, topics })
  const merged: Libp2pOptions<PresetServices> = { ...base, ...rest, services: { ...base.services } as Libp2pOptions<PresetServices>['services'] }

  if (connectionManager != null) {
    merged.connectionManager = { ...base.connectionManager, ...connectionManager }
  }

  for (const [name, factory] of Object.entries(services ?? {})) {
    if (factory == null) {
      delete merged.services?.[name]
    } else if (merged.services != null) {
      merged.services[name] = factory
    }
  }

  return merged
}
