/**
 * Names of the events the suite dispatches on the libp2p event bus
 * (`libp2p.addEventListener(name, ...)`). Their payload types are in
 * `health.ts`, `pool.ts` and `connectivity.ts`, and `Libp2pEvents` is
 * augmented with all of them in `index.ts`.
 */

/** A connection's health snapshot changed materially (`@x/health`) */
export const CONNECTION_HEALTH_EVENT = 'connection:health'

/** A pooled peer's status changed (`@x/connection-pool`) */
export const POOL_STATUS_EVENT = 'pool:status'

/** The pool opened, or failed to open, a stream on a connection (`@x/connection-pool`) */
export const POOL_STREAM_EVENT = 'pool:stream'

/** The node's NAT status changed (`@x/universal-connectivity`) */
export const NAT_STATUS_EVENT = 'connectivity:nat-status'

/** A peer was found, or found again by another mechanism (`@x/universal-connectivity`) */
export const PEER_DISCOVERED_EVENT = 'connectivity:peer-discovered'

/** A connection was established, with the path it took (`@x/universal-connectivity`) */
export const CONNECTION_ESTABLISHED_EVENT = 'connectivity:connection-established'

/** A dial failed (`@x/universal-connectivity`) */
export const DIAL_FAILED_EVENT = 'connectivity:dial-failed'

/** A DCUtR upgrade attempt ended (`@x/universal-connectivity`) */
export const HOLE_PUNCH_EVENT = 'connectivity:hole-punch'
