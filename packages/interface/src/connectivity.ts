import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Whether this node is reachable from the public internet */
export type NatStatus = 'public' | 'private' | 'unknown'

/** Where a peer was learned from */
export type DiscoveryMechanism = 'mdns' | 'pubsub' | 'dht' | 'bootstrap' | 'other'

/**
 * The path a connection took: `direct` (dialled or accepted directly),
 * `relay` (through a circuit relay), `reversal` (the peer dialled us directly
 * while relayed to us, without a DCUtR exchange), `hole-punch` (a direct
 * connection that followed a DCUtR exchange on the relayed connection)
 */
export type ConnectionPath = 'direct' | 'relay' | 'reversal' | 'hole-punch'

/** Payload of the `connectivity:nat-status` event */
export interface NatStatusChange {
  status: NatStatus
  previous: NatStatus
  /** Why the status changed, for logs and dashboards */
  reason: string
}

/** Payload of the `connectivity:peer-discovered` event */
export interface PeerDiscoveredEvent {
  peer: PeerId
  mechanism: DiscoveryMechanism
  multiaddrs: Multiaddr[]
  /** True the first time any mechanism found this peer */
  firstSeen: boolean
}

/** Payload of the `connectivity:connection-established` event */
export interface ConnectionEstablishedEvent {
  peer: PeerId
  connectionId: string
  path: ConnectionPath
  remoteAddr: Multiaddr
}

/** Payload of the `connectivity:dial-failed` event */
export interface DialFailedEvent {
  peer: PeerId
  /** `err.name` of the failure */
  error: string
  message: string
}

/** Payload of the `connectivity:hole-punch` event */
export interface HolePunchOutcome {
  peer: PeerId
  success: boolean
  /** From the relayed connection opening to the direct one, ms */
  duration: number
}
