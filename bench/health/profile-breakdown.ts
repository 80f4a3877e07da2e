/**
 * Splits a V8 CPU profile (`node --cpu-prof`) by component: self time of
 * every sample, grouped by the package (or Node internal module) of the
 * function it was in; the top functions by self time; and the total time
 * under given functions (inclusive, each sample counted once).
 *
 * `node bench/health/profile-breakdown.ts /tmp/prof/CPU.*.cpuprofile [PINGS] [fn,fn,...]`
 *
 * With PINGS, every figure is also given in µs per ping.
 */
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

const [file, pingsArg, inclusiveArg] = process.argv.slice(2)
const profile: Profile = JSON.parse(readFileSync(file, 'utf8'))
const pings = Number(pingsArg ?? 0)
const inclusiveNames = (inclusiveArg ?? '').split(',').filter(s => s !== '')

const byId = new Map<number, ProfileNode>(profile.nodes.map(n => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) {
  for (const c of n.children ?? []) { parent.set(c, n.id) }
}

/** The component a function belongs to: its package, or Node's module */
export function component (frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName.startsWith('(')) { return functionName }
    return `native ${functionName}`
  }
  if (url.startsWith('wasm://')) { return 'wasm' }
  if (url.startsWith('node:')) {
    return url.replace(/^node:internal\//, 'node:').replace(/\/.*$/, '').replace(/\.js$/, '')
  }
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const pkg = url.match(/packages\/([^/]+)\//)
  if (pkg != null) { return `@x/${pkg[1]}` }
  return url.replace(/^file:\/\/.*\/(bench\/)/, '$1')
}

const self = new Map<string, number>()
const selfFn = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0
  const node = byId.get(profile.samples[i])
  if (node == null) { continue }
  total += dt
  const c = component(node.callFrame)
  self.set(c, (self.get(c) ?? 0) + dt)
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${c}:${node.callFrame.lineNumber + 1}`
  selfFn.set(fn, (selfFn.get(fn) ?? 0) + dt)
  const seen = new Set<string>()
  for (let id: number | undefined = node.id; id != null; id = parent.get(id)) {
    const name = byId.get(id)?.callFrame.functionName ?? ''
    if (inclusiveNames.includes(name) && !seen.has(name)) {
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt)
    }
  }
}

const busy = total - (self.get('(idle)') ?? 0)
const line = (label: string, us: number): string => {
  const perPing = pings > 0 ? `  ${(us / pings).toFixed(2).padStart(8)} µs/ping` : ''
  return `${label.padEnd(60)} ${(us / 1000).toFixed(1).padStart(9)} ms ${(100 * us / busy).toFixed(1).padStart(5)} %${perPing}\n`
}
process.stdout.write(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle (percentages of that)\n\nself time by component:\n`)
for (const [c, us] of [...self].sort((a, b) => b[1] - a[1])) {
  if (c === '(idle)') { continue }
  process.stdout.write(line(c, us))
}
process.stdout.write('\ntop functions by self time:\n')
for (const [f, us] of [...selfFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  if (f.startsWith('(idle)')) { continue }
  process.stdout.write(line(f.slice(0, 60), us))
}
if (inclusiveNames.length > 0) {
  process.stdout.write('\ninclusive time under:\n')
  for (const name of inclusiveNames) { process.stdout.write(line(name, inclusive.get(name) ?? 0)) }
}
