// What decides whether a workspace's build is up to date: a hash of what its
// build reads (its tsconfig's "include" folders, its package.json, tsconfig
// and aegir config, the root's tsconfig.base.json and .aegir.js, and the
// installed packages package-lock.json pins) and of what its workspace
// dependencies' builds produced
// (their dist). A build records both, plus a hash of its own dist, in
// `dist/.x-build-stamp.json`; the build is current only while all of them
// still match. Contents are hashed, not mtimes: a checkout, a `touch` or a
// clock change neither forces nor hides a rebuild.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync, lstatSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const OUT_DIR = 'dist'
export const STAMP_FILE = '.x-build-stamp.json'
/** Root files every workspace's build reads (and package-lock.json, see lockDigest) */
export const ROOT_INPUTS = ['tsconfig.base.json', '.aegir.js']
/** Workspace files read besides the tsconfig's "include" */
const WORKSPACE_CONFIG = ['package.json', 'tsconfig.json', '.aegir.js', '.aegir.cjs']
/** Never inputs, never outputs */
const SKIP_DIRS = new Set(['node_modules', OUT_DIR, '.git'])
const isBuildInfo = (name) => name.endsWith('.tsbuildinfo')

/**
 * Every file under `dir` (relative paths, sorted), skipping node_modules, dist
 * and .git below it, and files for which `skipFile` says so.
 *
 * @param {string} dir
 * @param {(name: string) => boolean} [skipFile]
 * @param {string} [prefix]
 * @returns {string[]}
 */
export function walk (dir, skipFile = () => false, prefix = '') {
  if (!existsSync(dir)) { return [] }
  const files = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) { files.push(...walk(join(dir, entry.name), skipFile, rel)) }
    } else if ((entry.isFile() || entry.isSymbolicLink()) && !skipFile(entry.name)) {
      files.push(rel)
    }
  }
  return files
}

/**
 * The folders (or files) a workspace's tsconfig includes, or `null` when they
 * cannot be read exactly (no tsconfig, comments, globs): then the whole
 * workspace counts as input.
 *
 * @param {string} wsDir
 * @returns {string[] | null}
 */
export function includedPaths (wsDir) {
  try {
    const tsconfig = JSON.parse(readFileSync(join(wsDir, 'tsconfig.json'), 'utf8'))
    const include = tsconfig.include
    if (!Array.isArray(include) || include.length === 0 || include.some(p => typeof p !== 'string' || /[*?]/.test(p) || p.startsWith('..'))) { return null }
    return include.map(p => p.replace(/^\.\//, '').replace(/\/+$/, ''))
  } catch {
    return null
  }
}

/**
 * The input files of a workspace's build, relative to the root, sorted.
 *
 * @param {string} root
 * @param {string} dir - the workspace folder, relative to the root
 * @returns {string[]}
 */
export function inputFiles (root, dir) {
  const wsDir = join(root, dir)
  const included = includedPaths(wsDir)
  const files = new Set(ROOT_INPUTS.filter(f => existsSync(join(root, f))))

  if (included == null) {
    for (const f of walk(wsDir, isBuildInfo)) { files.add(`${dir}/${f}`) }
  } else {
    for (const f of WORKSPACE_CONFIG) { if (existsSync(join(wsDir, f))) { files.add(`${dir}/${f}`) } }
    for (const p of included) {
      const abs = join(wsDir, p)
      if (!existsSync(abs)) { continue }
      if (lstatSync(abs).isDirectory()) {
        for (const f of walk(abs, isBuildInfo)) { files.add(`${dir}/${p}/${f}`) }
      } else {
        files.add(`${dir}/${p}`)
      }
    }
  }

  return [...files].sort()
}

/**
 * One hash over the paths and contents of `files` (relative to `base`).
 *
 * @param {string} base
 * @param {string[]} files
 * @param {string[]} [extra] - more lines to hash (e.g. dependencies' output hashes)
 */
export function hashFiles (base, files, extra = []) {
  const hash = createHash('sha256')
  for (const f of files) {
    hash.update(f).update('\0')
    hash.update(createHash('sha256').update(readFileSync(join(base, f))).digest('hex')).update('\n')
  }
  for (const line of extra) { hash.update(line).update('\n') }
  return hash.digest('hex')
}

/**
 * A hash of the installed packages package-lock.json pins (its
 * `node_modules/...` entries: versions, integrity, their dependencies),
 * leaving out workspace manifests and links: a new workspace, or a
 * dependency added to one workspace that is already installed, rebuilds
 * nothing; a new or changed installed package (TypeScript, a libp2p
 * release, ...) rebuilds everything.
 *
 * @param {string} root
 */
export function lockDigest (root) {
  const path = join(root, 'package-lock.json')
  if (!existsSync(path)) { return 'none' }
  const lock = JSON.parse(readFileSync(path, 'utf8'))
  const installed = Object.entries(lock.packages ?? {})
    .filter(([key, entry]) => (key.startsWith('node_modules/') || key.includes('/node_modules/')) && entry?.link !== true)
    .sort(([a], [b]) => a < b ? -1 : 1)
  return createHash('sha256').update(JSON.stringify([lock.lockfileVersion, installed])).digest('hex')
}

/**
 * The hash of a workspace's own inputs (sources, config, installed packages).
 *
 * @param {string} root
 * @param {string} dir
 * @param {string} [lock] - lockDigest(root), when the caller has it already
 * @param {string[]} [files] - inputFiles(root, dir), when the caller has them already
 */
export function sourcesHash (root, dir, lock = lockDigest(root), files = inputFiles(root, dir)) {
  return hashFiles(root, files, [`lock ${lock}`])
}

/**
 * The hash of what a workspace's build produced: its dist, without the
 * stamp and tsc's incremental state (which change without the output changing).
 *
 * @param {string} root
 * @param {string} dir
 */
export function outputHash (root, dir) {
  const out = join(root, dir, OUT_DIR)
  return hashFiles(out, walk(out, name => name === STAMP_FILE || isBuildInfo(name)))
}

/**
 * @typedef {object} Stamp
 * @property {string} sources              hash of the workspace's inputs when it was built
 * @property {Record<string, string>} deps dependency name -> its output hash when this was built
 * @property {string} outputs              hash of this workspace's dist right after the build
 * @property {string[]} [inputs]            the input files (inputFiles) when it was built
 */

/**
 * Why a workspace must be built, or `undefined` when its build is current.
 *
 * @param {Stamp | undefined} stamp
 * @param {Stamp} now - the same three hashes taken now
 * @returns {string | undefined}
 */
export function staleReason (stamp, now) {
  if (stamp == null) { return 'not built yet' }
  if (stamp.sources !== now.sources) { return 'sources changed' }
  const changed = Object.keys(now.deps).filter(d => stamp.deps[d] !== now.deps[d])
  if (changed.length > 0) { return `${changed.join(', ')} changed` }
  if (Object.keys(stamp.deps).length !== Object.keys(now.deps).length) { return 'dependencies changed' }
  if (stamp.outputs !== now.outputs) { return `${OUT_DIR} changed since its build` }
  return undefined
}

/**
 * Whether the build must start from an empty dist. `tsc` with "incremental"
 * (aegir's config) re-emits only the sources that changed since its
 * .tsbuildinfo: it never deletes the output of a deleted source (a stale
 * dist/src/x.js would be packed, a stale dist/test/x.spec.js would still
 * run) and never restores an output removed or edited by hand. So the dist is
 * removed before the build when the build is forced, there is no usable
 * stamp, the dist changed since its build, or an input of the last build is
 * gone; otherwise the build stays incremental.
 *
 * @param {Stamp | undefined} stamp
 * @param {Stamp} now
 * @param {string[]} inputs - inputFiles() now
 * @param {boolean} [force]
 * @returns {string | undefined} why, or `undefined` when the dist can stay
 */
export function cleanReason (stamp, now, inputs, force = false) {
  if (force) { return 'forced' }
  if (stamp == null) { return 'no build stamp' }
  if (stamp.outputs !== now.outputs) { return `${OUT_DIR} changed since its build` }
  if (!Array.isArray(stamp.inputs)) { return 'the stamp does not list its inputs' }
  const present = new Set(inputs)
  const gone = stamp.inputs.filter(f => !present.has(f))
  if (gone.length > 0) { return `${gone.length === 1 ? gone[0] : `${gone.length} inputs`} gone` }
  return undefined
}

/**
 * @param {string} root
 * @param {string} dir
 * @returns {Stamp | undefined}
 */
export function readStamp (root, dir) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, dir, OUT_DIR, STAMP_FILE), 'utf8'))
    return typeof stamp.sources === 'string' && typeof stamp.outputs === 'string' && stamp.deps != null && typeof stamp.deps === 'object' ? stamp : undefined
  } catch {
    return undefined
  }
}

/**
 * @param {string} root
 * @param {string} dir
 * @param {Stamp} stamp
 */
export function writeStamp (root, dir, stamp) {
  mkdirSync(join(root, dir, OUT_DIR), { recursive: true })
  writeFileSync(join(root, dir, OUT_DIR, STAMP_FILE), JSON.stringify(stamp) + '\n')
}
