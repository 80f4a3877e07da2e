/**
 * Install weight of one published package as a user gets it: the tarball
 * (and the tarballs of the @x packages it depends on) installed alone into a
 * fresh project outside the workspace. Prints the packages installed, their
 * size on disk, the native addons, and the time to import one export
 * (median of `IMPORT_RUNS` fresh processes).
 *
 * node consumer/src/weight.ts [@x/universal-connectivity:universalConnectivity] [@x/health:connectionHealth] ...
 */
import { execFile } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ensureBuilt, pack } from './pack.ts'
import { cleanEnv, prepareScratch } from './scratch.ts'
import { findRoot, listWorkspaces } from './workspace.ts'
import type { Tarball } from './pack.ts'
import type { Workspace } from './workspace.ts'

const run = promisify(execFile)

/** fresh processes timed per import */
export const IMPORT_RUNS = 7

export interface Weight {
  target: string
  /** installed package folders, ours included (what npm reports as added) */
  packages: number
  bytes: number
  nativeAddons: number
  heavy: string[]
  importMs: number
  addonsLoaded: string[]
}

/** The workspaces `name` needs: itself and its @x dependencies, recursively */
function closure (name: string, workspaces: Workspace[]): Workspace[] {
  const byName = new Map(workspaces.map(ws => [ws.manifest.name, ws]))
  const out = new Map<string, Workspace>()
  const visit = (n: string): void => {
    const ws = byName.get(n)

    if (ws == null || out.has(n)) {
      return
    }

    out.set(n, ws)
    Object.keys(ws.manifest.dependencies ?? {}).forEach(visit)
  }
  visit(name)
  return [...out.values()]
}

/** installed package folders and their bytes, native addons among them */
function measure (nodeModules: string): { packages: string[], bytes: number, nativeAddons: number } {
  const packages: string[] = []
  let bytes = 0
  let nativeAddons = 0

  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)

      if (entry.isSymbolicLink()) {
        continue
      }

      if (entry.isDirectory()) {
        walk(path)
      } else {
        bytes += statSync(path).size

        if (entry.name.endsWith('.node')) {
          nativeAddons++
        }
      }
    }
  }

  const packagesIn = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) {
        continue
      }

      const path = join(dir, entry.name)

      if (entry.name.startsWith('@')) {
        for (const scoped of readdirSync(path, { withFileTypes: true })) {
          if (scoped.isDirectory()) {
            addPackage(join(path, scoped.name), `${entry.name}/${scoped.name}`)
          }
        }
      } else {
        addPackage(path, entry.name)
      }
    }
  }

  const addPackage = (path: string, name: string): void => {
    packages.push(name)

    try {
      if (statSync(join(path, 'node_modules')).isDirectory()) {
        packagesIn(join(path, 'node_modules'))
      }
    } catch {}
  }

  packagesIn(nodeModules)
  walk(nodeModules)
  return { packages, bytes, nativeAddons }
}

const IMPORT_PROBE = `
const addons = []
const dlopen = process.dlopen
process.dlopen = function (module, file, ...rest) { addons.push(file); return dlopen.call(this, module, file, ...rest) }
const [name, member] = process.argv.slice(-2)
const start = performance.now()
const mod = await import(name)
if (typeof mod[member] !== 'function') throw new Error(name + ' has no export ' + member)
const ms = performance.now() - start
process.stdout.write(JSON.stringify({ ms, addons }))
`

export async function weigh (target: string, member: string): Promise<Weight> {
  const workspaces = listWorkspaces()
  const needed = closure(target, workspaces)

  if (needed.length === 0) {
    throw new Error(`no workspace is named ${target}`)
  }

  const tarballs: Tarball[] = []
  await ensureBuilt(findRoot(), needed)

  for (const ws of needed) {
    tarballs.push(await pack(ws))
  }

  const scratch = await prepareScratch({ name: `weight-${target.replace(/[^a-z0-9]+/gi, '-')}`, tarballs, dependencies: {} })
  const { packages, bytes, nativeAddons } = measure(join(scratch.dir, 'node_modules'))
  const times: number[] = []
  let addonsLoaded: string[] = []

  for (let i = 0; i < IMPORT_RUNS; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE, target, member], { cwd: scratch.dir, env: cleanEnv() })
    const result = JSON.parse(stdout)
    times.push(result.ms)
    addonsLoaded = result.addons.map((f: string) => f.slice(f.lastIndexOf('node_modules/') + 13))
  }

  times.sort((a, b) => a - b)

  return {
    target,
    packages: packages.length,
    bytes,
    nativeAddons,
    heavy: ['react-native', 'node-datachannel', '@libp2p/webrtc', '@libp2p/webtransport', '@libp2p/kad-dht', '@libp2p/gossipsub'].filter(p => packages.includes(p)),
    importMs: times[Math.floor(times.length / 2)],
    addonsLoaded
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const targets = process.argv.slice(2)

  if (targets.length === 0) {
    targets.push('@x/universal-connectivity:universalConnectivity', '@x/health:connectionHealth')
  }

  const rows: Weight[] = []

  for (const t of targets) {
    const [name, member] = t.split(':')
    rows.push(await weigh(name, member))
  }

  process.stdout.write('| package | packages installed (ours included) | on disk | native addons installed | heavy packages installed | import of the service (median of 7) | addons loaded by that import |\n| --- | --- | --- | --- | --- | --- | --- |\n')

  for (const r of rows) {
    process.stdout.write(`| ${r.target} | ${r.packages} | ${(r.bytes / 1e6).toFixed(1)} MB | ${r.nativeAddons} | ${r.heavy.join(', ') || 'none'} | ${r.importMs.toFixed(0)} ms | ${r.addonsLoaded.join(', ') || 'none'} |\n`)
  }
}
