/**
 * Our NAT's public IPv4 address, as peers observe it. `@libp2p/identify`
 * reports every peer's view of our address (`observedAddr`) but, for TCP,
 * adds none of them to the address manager (js-libp2p#2620): this table keeps
 * the IPs (never the ports: those belong to the ephemeral ports our dials
 * left from) and names the one most distinct observers agree on (each counts
 * for the IP it reported last).
 *
 * An observer counts while a connection it reported over is open, and for
 * `OBSERVER_TTL` after the last one closed.
 *
 * Bounded: `MAX_OBSERVED_IPS` IPs (the least recently seen is dropped),
 * `MAX_OBSERVERS_PER_IP` observers each, `MAX_CONNECTIONS_PER_OBSERVER`
 * connections per observer.
 */
import { MAX_CONNECTIONS_PER_OBSERVER, MAX_OBSERVED_IPS, MAX_OBSERVERS_PER_IP, OBSERVER_TTL } from './constants.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Observer {
  /** Ids of the open connections it reported over (at most MAX_CONNECTIONS_PER_OBSERVER, oldest forgotten first) */
  connections: Set<string>
  /** When the last of them closed */
  closedAt: number
}

interface Observation {
  observers: Map<string, Observer>
  lastSeen: number
}

/** An IPv4 address a remote host could route to (not private, loopback, link-local, CGNAT or multicast) */
export function isPublicIPv4 (ip: string): boolean {
  const parts = ip.split('.').map(Number)

  if (parts.length !== 4 || parts.some(p => !Number.isInteger(p) || p < 0 || p > 255)) {
    return false
  }

  const [a, b] = parts

  return !(a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168))
}

/** Any IPv4 address but unspecified and multicast (`allowPrivateAddresses`) */
export function isUnicastIPv4 (ip: string): boolean {
  const parts = ip.split('.').map(Number)
  return parts.length === 4 && parts.every(p => Number.isInteger(p) && p >= 0 && p <= 255) && parts[0] !== 0 && parts[0] < 224
}

/** The IPv4 host and TCP port of a plain `/ip4/x/tcp/y[/p2p/z]` address, or undefined */
export function ipv4Tcp (addr: Multiaddr): { host: string, port: number } | undefined {
  const components = addr.getComponents()

  if (components[0]?.name !== 'ip4' || components[1]?.name !== 'tcp' || components.slice(2).some(c => c.name !== 'p2p')) {
    return undefined
  }

  const host = components[0].value ?? ''
  const port = Number(components[1].value)

  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    return undefined
  }

  return { host, port }
}

/**
 * Who observed an address, from the observing connection's remote address:
 * one observer per IPv4 address and per IPv6 /56, as go-libp2p counts them,
 * so one host with many peer ids counts once; undefined for other addresses
 */
export function observerKey (remote: Multiaddr): string | undefined {
  const first = remote.getComponents()[0]

  if (first?.name === 'ip4' && first.value != null) {
    return first.value
  }

  if (first?.name !== 'ip6' || first.value == null) {
    return undefined
  }

  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(first.value.toLowerCase())

  if (mapped != null) {
    // an IPv4 peer on a dual-stack listener
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)]
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }

  const [head, tail] = first.value.toLowerCase().split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail == null || tail === '' ? [] : tail.split(':')
  // an embedded IPv4 address stands for two groups
  const tailLength = tailGroups.length + (tailGroups.some(g => g.includes('.')) ? 1 : 0)
  const groups = [...headGroups, ...new Array(Math.max(0, 8 - headGroups.length - tailLength)).fill('0'), ...tailGroups]
  const prefix = groups.slice(0, 4).map(g => (g.includes('.') ? '0' : g).padStart(4, '0'))
  prefix[3] = prefix[3].slice(0, 2)

  return `${prefix.join(':')}::/56`
}

export class ObservedAddresses {
  private readonly observations = new Map<string, Observation>()
  private readonly minObservers: number
  private readonly accept: (ip: string) => boolean

  /** `accept` decides which IPs count (by default public ones only) */
  constructor (minObservers: number, accept: (ip: string) => boolean = isPublicIPv4) {
    this.minObservers = minObservers
    this.accept = accept
  }

  /** Record that `observer` sees us at `addr` over `connection` (an id); ignores anything but IPv4 TCP with an accepted IP */
  record (addr: Multiaddr, observer: string, now: number, connection: string): boolean {
    const tcp = ipv4Tcp(addr)

    if (tcp == null || !this.accept(tcp.host)) {
      return false
    }

    this.expire(now)
    let observation = this.observations.get(tcp.host)

    if (observation == null) {
      if (this.observations.size >= MAX_OBSERVED_IPS) {
        this.dropOldest()
      }

      observation = { observers: new Map(), lastSeen: now }
      this.observations.set(tcp.host, observation)
    }

    observation.lastSeen = now
    let entry = observation.observers.get(observer)

    if (entry == null && observation.observers.size < MAX_OBSERVERS_PER_IP) {
      entry = { connections: new Set(), closedAt: now }
      observation.observers.set(observer, entry)
    }

    if (entry != null && !entry.connections.has(connection)) {
      if (entry.connections.size >= MAX_CONNECTIONS_PER_OBSERVER) {
        entry.connections.delete(entry.connections.values().next().value ?? '')
      }
      entry.connections.add(connection)
    }

    // an observer counts for the IP it reported last (our NAT's address may change)
    for (const [ip, other] of this.observations) {
      if (ip !== tcp.host && other.observers.delete(observer) && other.observers.size === 0) {
        this.observations.delete(ip)
      }
    }

    return true
  }

  /** The observing connection `connection` closed: observers left without an open one expire `OBSERVER_TTL` later */
  closed (connection: string, now: number): void {
    for (const { observers } of this.observations.values()) {
      for (const entry of observers.values()) {
        if (entry.connections.delete(connection) && entry.connections.size === 0) {
          entry.closedAt = now
        }
      }
    }
  }

  /** Open observing connections remembered for `observer` */
  connections (observer: string): number {
    let count = 0

    for (const { observers } of this.observations.values()) {
      count += observers.get(observer)?.connections.size ?? 0
    }

    return count
  }

  /** The public IP most distinct observers agree on (at least `minObservers` of them), or undefined */
  publicIp (now = Date.now()): string | undefined {
    this.expire(now)
    let best: string | undefined
    let bestCount = 0
    let bestSeen = -1

    for (const [ip, { observers, lastSeen }] of this.observations) {
      if (observers.size > bestCount || (observers.size === bestCount && lastSeen > bestSeen)) {
        best = ip
        bestCount = observers.size
        bestSeen = lastSeen
      }
    }

    return bestCount >= this.minObservers ? best : undefined
  }

  /** Distinct IPs known */
  get size (): number {
    return this.observations.size
  }

  /** Drop observers whose connections all closed `OBSERVER_TTL` ago or more, and IPs left without observers */
  private expire (now: number): void {
    for (const [ip, { observers }] of this.observations) {
      for (const [observer, entry] of observers) {
        if (entry.connections.size === 0 && now - entry.closedAt >= OBSERVER_TTL) {
          observers.delete(observer)
        }
      }

      if (observers.size === 0) {
        this.observations.delete(ip)
      }
    }
  }

  private dropOldest (): void {
    let oldest: string | undefined
    let oldestSeen = Infinity

    for (const [ip, { lastSeen }] of this.observations) {
      if (lastSeen < oldestSeen) {
        oldest = ip
        oldestSeen = lastSeen
      }
    }

    if (oldest != null) {
      this.observations.delete(oldest)
    }
  }
}
