// The workspaces of the monorepo, read from the root package.json every time
// (a new `packages/*` folder or a new entry in "workspaces" is picked up
// without editing any script), and the order to build them in.
// Dependency-free: runs on any Node that can run the scripts.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * @typedef {object} Workspace
 * @property {string} dir       path relative to the root, with forward slashes
 * @property {string} name      the package name
 * @property {Record<string, unknown>} manifest  its package.json
 * @property {string[]} deps    names of the workspaces it depends on (any kind of dependency)
 */

/**
 * Expands the root's "workspaces" (plain folders and `folder/*` patterns)
 * into the folders that hold a package.json, in the order the list gives.
 *
 * @param {string} root
 * @returns {Workspace[]}
 */
export function listWorkspaces (root) {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const patterns = Array.isArray(rootManifest.workspaces) ? rootManifest.workspaces : (rootManifest.workspaces?.packages ?? [])
  const dirs = []

  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const base = pattern.slice(0, -2)
      if (!existsSync(join(root, base))) { continue }
      for (const name of readdirSync(join(root, base)).sort()) {
        if (statSync(join(root, base, name)).isDirectory()) { dirs.push(`${base}/${name}`) }
      }
    } else if (pattern.includes('*')) {
      throw new Error(`workspace pattern ${pattern} is not supported (only "folder" and "folder/*")`)
    } else {
      dirs.push(pattern.replace(/\/+$/, ''))
    }
  }

  const workspaces = []
  const seen = new Set()

  for (const dir of dirs) {
    const manifestPath = join(root, dir, 'package.json')
    if (seen.has(dir) || !existsSync(manifestPath)) { continue }
    seen.add(dir)
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
    workspaces.push({ dir, name: manifest.name ?? dir, manifest, deps: [] })
  }

  const names = new Set(workspaces.map(w => w.name))

  for (const w of workspaces) {
    const all = { ...w.manifest.dependencies, ...w.manifest.devDependencies, ...w.manifest.peerDependencies, ...w.manifest.optionalDependencies }
    w.deps = Object.keys(all).filter(d => names.has(d) && d !== w.name).sort()
  }

  return workspaces
}

/**
 * Orders workspaces so that each comes after every workspace it depends on
 * (ties keep the root's order). A dependency cycle is an error.
 *
 * @param {Workspace[]} workspaces
 * @returns {Workspace[]}
 */
export function buildOrder (workspaces) {
  const byName = new Map(workspaces.map(w => [w.name, w]))
  const state = new Map() // name -> 'visiting' | 'done'
  const order = []

  const visit = (w, path) => {
    if (state.get(w.name) === 'done') { return }
    if (state.get(w.name) === 'visiting') { throw new Error(`dependency cycle between workspaces: ${[...path, w.name].join(' -> ')}`) }
    state.set(w.name, 'visiting')
    for (const d of w.deps) { visit(byName.get(d), [...path, w.name]) }
    state.set(w.name, 'done')
    order.push(w)
  }

  for (const w of workspaces) { visit(w, []) }
  return order
}
