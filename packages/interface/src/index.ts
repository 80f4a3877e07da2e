/**
 * @packageDocumentation
 *
 * Types, event names and capability names shared by the `@x` libp2p
 * connectivity suite. Its only runtime code is constants and the Prometheus
 * text renderer every package exports with, so every package can listen to
 * the others' events without importing their code.
 *
 * Importing this module (even as `import type`) augments libp2p's
 * `Libp2pEvents`, so the suite's events are typed on `libp2p.addEventListener`.
 *
 * @example Route by health without depending on `@x/health`
 *
 * ```TypeScript
 * import { CONNECTION_HEALTH_EVENT } from '@x/interface'
 * import type { ConnectionHealthSnapshot } from '@x/interface'
 *
 * const latest = new Map<string, ConnectionHealthSnapshot>()
 *
 * libp2p.addEventListener(CONNECTION_HEALTH_EVENT, (evt) => {
 *   latest.set(evt.detail.connectionId, evt.detail)
 * })
 * ```
 *
 * @example Follow the NAT status
 *
 * ```TypeScript
 * import { NAT_STATUS_EVENT } from '@x/interface'
 *
 * libp2p.addEventListener(NAT_STATUS_EVENT, (evt) => {
 *   console.info('NAT status %s -> %s (%s)', evt.detail.previous, evt.detail.status, evt.detail.reason)
 * })
 * ```
 *
 * @example Render metrics as Prometheus text, as the packages do
 *
 * ```TypeScript
 * import { renderPrometheus } from '@x/interface'
 *
 * const text = renderPrometheus([
 *   { name: 'x_app_requests_total', help: 'Requests sent', type: 'counter', samples: [{ labels: { peer: 'a' }, value: 3 }] }
 * ])
 * ```
 */

import type { ConnectionEstablishedEvent, DialFailedEvent, HolePunchOutcome, NatStatusChange, PeerDiscoveredEvent } from './connectivity.ts'
import type { ConnectionHealthSnapshot } from './health.ts'
import type { PoolStatusChange, PoolStreamOutcome } from './pool.ts'

export * from './capabilities.ts'
export * from './events.ts'
export * from './prometheus.ts'
export * from './stream-errors.ts'
export type * from './health.ts'
export type * from './pool.ts'
export type * from './connectivity.ts'

declare module '@libp2p/interface' {
  interface Libp2pEvents {
    'connection:health': CustomEvent<ConnectionHealthSnapshot>
    'pool:status': CustomEvent<PoolStatusChange>
    'pool:stream': CustomEvent<PoolStreamOutcome>
    'connectivity:nat-status': CustomEvent<NatStatusChange>
    'connectivity:peer-discovered': CustomEvent<PeerDiscoveredEvent>
    'connectivity:connection-established': CustomEvent<ConnectionEstablishedEvent>
    'connectivity:dial-failed': CustomEvent<DialFailedEvent>
    'connectivity:hole-punch': CustomEvent<HolePunchOutcome>
  }
}
