/**
 * How the dashboard groups what it draws, as plain functions of the data
 * (unit-tested without a browser). Discovery: each discovered peer once,
 * under the set of mechanisms that found it ("bootstrap + pubsub"), so a
 * node's bar adds up to its peers, not to mechanisms. RTT and score series:
 * grouped by link (the pair of nodes), each link one legend entry named by
 * its two peers, its connections one line each.
 */
import type { ConnectionSeries } from './monitor.ts'

/** A node's short name: `n3`, or the tail of a peer id outside the swarm */
export function peerName (index: number, peerId: string): string {
  return index >= 0 ? `n${index}` : `…${peerId.slice(-8)}`
}

export interface FoundPeer {
  /** `n3`, or the tail of its peer id when it is not a node of the swarm */
  name: string
  peerId: string
  /** Every mechanism that found it, sorted */
  mechanisms: string[]
}

export interface DiscoveryView {
  /** Peers found, each counted once */
  peers: number
  /** Peers found by each mechanism (a peer found by two counts in both) */
  byMechanism: Record<string, number>
  /** Peers by the set of mechanisms that found them ("bootstrap + pubsub"); adds up to `peers` */
  bySources: Record<string, number>
  found: FoundPeer[]
}

/** Joins a mechanism set into its `bySources` key */
export function sourcesKey (mechanisms: string[]): string {
  return mechanisms.length === 0 ? 'unknown' : [...mechanisms].sort().join(' + ')
}

export function discoveryView (discovered: Array<{ id: { toString(): string }, mechanisms: readonly string[] }>, indexOf: (peerId: string) => number): DiscoveryView {
  // nodes of the swarm by index, then the others by peer id
  const rank = (i: number): number => i < 0 ? Infinity : i
  const found = discovered
    .map(p => ({ peerId: p.id.toString(), index: indexOf(p.id.toString()), mechanisms: [...new Set(p.mechanisms)].sort() }))
    .sort((a, b) => rank(a.index) - rank(b.index) || (a.peerId < b.peerId ? -1 : 1))
    .map(({ peerId, index, mechanisms }): FoundPeer => ({ name: peerName(index, peerId), peerId, mechanisms }))
  const byMechanism: Record<string, number> = {}
  const bySources: Record<string, number> = {}

  for (const peer of found) {
    for (const m of peer.mechanisms) {
      byMechanism[m] = (byMechanism[m] ?? 0) + 1
    }

    const key = sourcesKey(peer.mechanisms)
    bySources[key] = (bySources[key] ?? 0) + 1
  }

  return { peers: found.length, byMechanism, bySources, found }
}

export interface LinkGroup {
  /** `3-1`: measuring node, then remote node */
  key: string
  /** Names the two peers: `n3 → n1`, with `(fault proxy)` when its connections run through it */
  label: string
  node: number
  peer: number
  proxied: boolean
  /** Open connections on the link now */
  open: number
  /** The series of its connections (keys into `series`), open ones first */
  series: string[]
}

/**
 * Groups connection series by link. Each connection is measured at both
 * ends; one end is kept: the fault proxy's client on the fault link, else
 * the node with the higher index (the one that fills its pool towards lower
 * ones). The fault link first, then by node pair; at most `maxLinks` links.
 */
export function linkGroups (series: ConnectionSeries[], names: string[], faultLink?: { client: number, server: number }, maxLinks = Infinity): LinkGroup[] {
  const groups = new Map<string, LinkGroup & { members: ConnectionSeries[] }>()
  const isFaultLink = (a: number, b: number): boolean => faultLink != null && ((a === faultLink.client && b === faultLink.server) || (b === faultLink.client && a === faultLink.server))

  for (const s of series) {
    const measuringEnd = isFaultLink(s.node, s.peer) ? s.node === faultLink?.client : s.node > s.peer

    if (!measuringEnd || s.peer < 0) {
      continue
    }

    const key = `${s.node}-${s.peer}`
    let group = groups.get(key)

    if (group == null) {
      group = { key, label: '', node: s.node, peer: s.peer, proxied: false, open: 0, series: [], members: [] }
      groups.set(key, group)
    }

    group.members.push(s)
    group.proxied ||= s.proxied
    group.open += s.open ? 1 : 0
  }

  return [...groups.values()]
    .sort((a, b) => Number(b.proxied) - Number(a.proxied) || a.node - b.node || a.peer - b.peer)
    .slice(0, maxLinks)
    .map(({ members, ...g }) => ({
      ...g,
      label: `${names[g.node] ?? `n${g.node}`} → ${names[g.peer] ?? `n${g.peer}`}${g.proxied ? ' (fault proxy)' : ''}`,
      series: members.sort((a, b) => Number(b.open) - Number(a.open) || a.key.localeCompare(b.key)).map(s => s.key)
    }))
}
