/**
 * Counts bytes in and out per peer, protocol and class, with 1 s and 1 min
 * rates. Bounded: classes come from the options; at most
 * `maxTrackedProtocols` protocols and `maxTrackedPeers` peers are tracked
 * one by one, the rest are counted under `other`; a peer with no open
 * stream leaves after `PEER_IDLE_EXPIRY` without traffic.
 */
import { PEER_IDLE_EXPIRY } from './constants.ts'
import { DirectionWindows } from './rates.ts'

export const OTHER = 'other'

export interface Counted {
  peer: string
  protocol: string
  cls: string
}

export class Monitor {
  readonly node = new DirectionWindows()
  readonly peers = new Map<string, DirectionWindows>()
  readonly protocols = new Map<string, DirectionWindows>()
  readonly classes = new Map<string, DirectionWindows>()
  /** Open shaped streams per peer */
  readonly openStreams = new Map<string, number>()
  private readonly maxPeers: number
  private readonly maxProtocols: number
  private lastExpire = -Infinity

  constructor (classes: string[], maxPeers: number, maxProtocols: number) {
    this.maxPeers = maxPeers
    this.maxProtocols = maxProtocols

    for (const name of classes) {
      this.classes.set(name, new DirectionWindows())
    }
  }

  /** The keys a new stream is counted under (`other` past the bounds) */
  open (peer: string, protocol: string, cls: string, now: number): Counted {
    this.expire(now)

    if (!this.peers.has(peer)) {
      if (this.peers.size >= this.maxPeers) {
        peer = OTHER
      }

      if (!this.peers.has(peer)) {
        this.peers.set(peer, new DirectionWindows())
      }
    }

    if (!this.protocols.has(protocol)) {
      if (this.protocols.size >= this.maxProtocols) {
        protocol = OTHER
      }

      if (!this.protocols.has(protocol)) {
        this.protocols.set(protocol, new DirectionWindows())
      }
    }

    this.openStreams.set(peer, (this.openStreams.get(peer) ?? 0) + 1)
    return { peer, protocol, cls }
  }

  close (counted: Counted): void {
    const open = (this.openStreams.get(counted.peer) ?? 1) - 1

    if (open <= 0) {
      this.openStreams.delete(counted.peer)
    } else {
      this.openStreams.set(counted.peer, open)
    }
  }

  add (counted: Counted, direction: 'in' | 'out', bytes: number, now: number): void {
    this.node[direction].add(bytes, now)
    this.peers.get(counted.peer)?.[direction].add(bytes, now)
    this.protocols.get(counted.protocol)?.[direction].add(bytes, now)
    this.classes.get(counted.cls)?.[direction].add(bytes, now)
  }

  /** Drops peers with no open stream and no traffic for a minute (scans at most once a second) */
  expire (now: number): void {
    if (now - this.lastExpire < 1000) {
      return
    }

    this.lastExpire = now

    for (const [peer, windows] of this.peers) {
      if (!this.openStreams.has(peer) && now - windows.lastActive > PEER_IDLE_EXPIRY) {
        this.peers.delete(peer)
      }
    }
  }
}
