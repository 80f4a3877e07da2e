/**
 * Where the bytes of the health records go: the scale setup (1,000
 * connections), one warm-up sweep and six sweeps, then a heap snapshot
 * with the records and one after stop() dropped them; prints the objects
 * that only the first snapshot holds, by constructor, per connection.
 *
 * Object ids of JS objects are stable between the two snapshots; those of
 * native embedder nodes (socket wraps) are not, so those rows are noise.
 * WHY=<type:name,...> prints a retainer chain of such objects.
 *
 * `node --expose-gc bench/health/heap-diff.ts [listeners, default 100]`
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionHealth } from '@x/health'
import { spawnListeners } from '../lib/listener-process.ts'
import { createNode } from '../lib/nodes.ts'
import { writeResults } from '../lib/stats.ts'

const LISTENERS = Number(process.argv[2] ?? 100)
const PER_LISTENER = 10

const listeners = await spawnListeners(LISTENERS)
const addrs = listeners.addrs
const client = await createNode({
  addresses: { listen: [] },
  services: { health: connectionHealth({ checkInterval: 3_600_000, maxConcurrentProbes: 16 }) }
})
for (let i = 0; i < PER_LISTENER; i++) {
  await Promise.all(addrs.map(async addr => client.dial(multiaddr(addr), { force: true })))
}
const connections = client.getConnections().length
for (let i = 0; i < 7; i++) {
  await client.services.health.checkAll()
}
// let probe timers (AbortSignal.timeout) of the last sweep fire
await new Promise(resolve => setTimeout(resolve, Number(process.env.SETTLE ?? 0)))
const gc = (globalThis as any).gc as () => void
gc()
const dir = mkdtempSync(join(tmpdir(), 'health-heap-'))
const a = writeHeapSnapshot(join(dir, 'with.heapsnapshot'))
;(client.services.health as any).stop()
gc()
const b = writeHeapSnapshot(join(dir, 'without.heapsnapshot'))
await client.stop()
await listeners.stop()

interface Snap { ids: Set<number>, nodes: Array<{ id: number, key: string, size: number }> }
const WHY = (process.env.WHY ?? '').split(',').filter(Boolean)
function retainers (s: any): void {
  // for nodes named in WHY, print two levels of retainers of a few of them
  const f = s.snapshot.meta.node_fields as string[]; const n = f.length
  const ef = s.snapshot.meta.edge_fields as string[]; const en = ef.length
  const etypes = s.snapshot.meta.edge_types[0] as string[]
  const types = s.snapshot.meta.node_types[0] as string[]
  const iN = f.indexOf('name'); const iE = f.indexOf('edge_count'); const iT = f.indexOf('type')
  const label = (ni: number): string => `${types[s.nodes[ni + iT]]}:${String(s.strings[s.nodes[ni + iN]]).slice(0, 50)}`
  const rev = new Map<number, Array<[number, string]>>()
  let e = 0
  for (let ni = 0; ni < s.nodes.length; ni += n) {
    for (let k = 0; k < s.nodes[ni + iE]; k++, e += en) {
      const to = s.edges[e + 2]
      const et = etypes[s.edges[e]]
      const nameOrIndex = s.edges[e + 1]
      const name = et === 'element' || et === 'hidden' ? String(nameOrIndex) : String(s.strings[nameOrIndex])
      let list = rev.get(to)
      if (list == null) { list = []; rev.set(to, list) }
      if (list.length < 40 && et !== 'weak') { list.push([ni, `${et}:${name}`]) }
    }
  }
  for (const want of WHY) {
    let shown = 0
    for (let ni = 0; ni < s.nodes.length && shown < 2; ni += n) {
      if (label(ni) !== want) { continue }
      shown++
      process.stdout.write(`\n${want}\n`)
      // one chain upwards, skipping list links
      let at = ni
      const seen = new Set<number>()
      for (let depth = 0; depth < 14; depth++) {
        const up = (rev.get(at) ?? []).find(([r, e]) => !seen.has(r) && !/next|previous|context:listener|removeEventListener/.test(e))
        if (up == null) { break }
        seen.add(up[0])
        process.stdout.write(`  ^ ${up[1]} of ${label(up[0])}\n`)
        at = up[0]
      }
    }
  }
}
function load (file: string): Snap {
  const s = JSON.parse(readFileSync(file, 'utf8'))
  if (file.includes('with.')) { retainers(s) }
  const f = s.snapshot.meta.node_fields as string[]
  const types = s.snapshot.meta.node_types[0] as string[]
  const n = f.length
  const iT = f.indexOf('type'); const iN = f.indexOf('name'); const iI = f.indexOf('id'); const iS = f.indexOf('self_size')
  const ids = new Set<number>(); const nodes = []
  for (let i = 0; i < s.nodes.length; i += n) {
    const id = s.nodes[i + iI]
    ids.add(id)
    nodes.push({ id, key: `${types[s.nodes[i + iT]]}:${String(s.strings[s.nodes[i + iN]]).slice(0, 60)}`, size: s.nodes[i + iS] })
  }
  return { ids, nodes }
}
const A = load(a); const B = load(b)
rmSync(dir, { recursive: true })
const gone = new Map<string, { count: number, size: number }>()
let total = 0
for (const node of A.nodes) {
  if (B.ids.has(node.id)) { continue }
  const g = gone.get(node.key) ?? { count: 0, size: 0 }
  g.count++; g.size += node.size; total += node.size
  gone.set(node.key, g)
}
const born = B.nodes.filter(n => !A.ids.has(n.id)).reduce((s, n) => s + n.size, 0)
process.stdout.write(`${connections} connections; freed by stop(): ${total} B = ${(total / connections).toFixed(0)} B/connection (new objects after stop: ${(born / connections).toFixed(0)} B/connection)\n`)
const top = [...gone].sort((x, y) => y[1].size - x[1].size).slice(0, 30)
for (const [key, g] of top) {
  process.stdout.write(`${(g.size / connections).toFixed(1).padStart(8)} B/conn ${(g.count / connections).toFixed(2).padStart(7)} obj/conn  ${key}\n`)
}
process.stdout.write('native:Node / * rows (socket and module wraps) are embedder nodes whose ids are not stable between snapshots: not freed, noise\n')
writeResults('health-heap-diff', {
  connections,
  bytesPerConnection: total / connections,
  top: top.map(([key, g]) => ({ object: key, bytesPerConnection: g.size / connections, perConnection: g.count / connections }))
})
process.exit(0)
