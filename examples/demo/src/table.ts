/**
 * The compact status table printed every few seconds.
 */
import type { SwarmView } from './snapshot.ts'

/** Wide enough for `5: bootstrap+other+pubsub 1, pubsub 4` and a space */
const DISCOVERY_WIDTH = 40

function pad (s: string | number, n: number): string {
  return String(s).padEnd(n)
}

export function renderTable (view: SwarmView): string {
  const lines: string[] = []
  const { ok, failed, retried } = view.requests
  const fault = view.fault == null
    ? 'faults off'
    : `fault link n${view.fault.client} -> n${view.fault.server} via proxy :${view.fault.proxyPort}: ${view.fault.phase} (cycles ${view.fault.cycles})`

  lines.push(`-- ${new Date(view.now).toISOString().slice(11, 19)}  up ${Math.round(view.uptime / 1000)} s  requests ok ${ok} failed ${failed} (retried ${retried})  ${fault}`)
  lines.push(`${pad('node', 5)}${pad('peers', 6)}${pad('conns/peer', Math.max(11, view.nodes.length + 2))}${pad('score min/avg', 14)}${pad('rtt avg', 9)}${pad('req ok/fail', 12)}${pad('discovery', DISCOVERY_WIDTH)}${pad('nat', 9)}roles`)

  for (const node of view.nodes) {
    const perPeer = view.nodes.map(other => other.index === node.index ? '-' : String(Math.min(9, node.connections.filter(c => c.peer === other.index && !c.relayed).length))).join('')
    const peers = new Set(node.connections.map(c => c.peer)).size
    const scores = node.connections.map(c => c.score).filter((s): s is number => s != null)
    const rtts = node.connections.map(c => c.rtt).filter((r): r is number => r != null)
    const score = scores.length === 0 ? '-' : `${Math.min(...scores).toFixed(2)}/${(scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(2)}`
    const rtt = rtts.length === 0 ? '-' : `${(rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(1)} ms`
    // each peer once, under the mechanisms that found it
    const discovery = node.discovery.peers === 0 ? '-' : `${node.discovery.peers}: ${Object.entries(node.discovery.bySources).map(([k, v]) => `${k.replaceAll(' + ', '+')} ${v}`).join(', ')}`

    lines.push(`${pad(`n${node.index}`, 5)}${pad(peers, 6)}${pad(perPeer, Math.max(11, view.nodes.length + 2))}${pad(score, 14)}${pad(rtt, 9)}${pad(`${node.requests.ok}/${node.requests.failed}`, 12)}${pad(discovery, DISCOVERY_WIDTH)}${pad(node.nat, 9)}${node.roles.join(', ')}`)
  }

  return lines.join('\n')
}
