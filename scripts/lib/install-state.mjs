// Whether the workspace must be installed before running anything:
//  - 'fresh'   no node_modules: `npm ci` (a fresh clone, CI)
//  - 'changed' package-lock.json is not what node_modules holds: `npm install`
//              reconciles it without deleting node_modules under a running process
//  - null      node_modules matches package-lock.json
// node_modules matches when its stamp (written after our own install) has the
// lock's hash and the Node version, or when npm's own record of what it
// installed (node_modules/.package-lock.json, written by every npm install)
// lists every installed package of the lock (its `node_modules/...` entries;
// workspace folders are only manifests) with the same fields, optional
// packages for other platforms excepted. Runs on any Node (called before Node 24 may be on PATH).
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMain } from './is-main.mjs'

export const STAMP = 'node_modules/.x-install-stamp'

/** @param {string} root */
export function lockHash (root) {
  return createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).update(process.version).digest('hex')
}

/**
 * @param {string} root
 * @returns {boolean}
 */
export function npmRecordMatches (root) {
  try {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages
    const installed = JSON.parse(readFileSync(join(root, 'node_modules/.package-lock.json'), 'utf8')).packages
    if (lock == null || installed == null) { return false }
    const isPackage = (path) => path.startsWith('node_modules/') || path.includes('/node_modules/')
    for (const [path, entry] of Object.entries(lock)) {
      if (!isPackage(path)) { continue }
      if (!(path in installed)) {
        if (entry.optional === true || entry.devOptional === true) { continue }
        return false
      }
      if (JSON.stringify(entry) !== JSON.stringify(installed[path])) { return false }
    }
    return Object.keys(installed).filter(isPackage).every(path => path in lock)
  } catch {
    return false
  }
}

/**
 * @param {string} root
 * @returns {'fresh' | 'changed' | null}
 */
export function installState (root) {
  if (!existsSync(join(root, 'node_modules'))) { return 'fresh' }
  const want = lockHash(root)
  if (existsSync(join(root, STAMP)) && readFileSync(join(root, STAMP), 'utf8').trim() === want) { return null }
  if (npmRecordMatches(root)) {
    writeStamp(root)
    return null
  }
  return 'changed'
}

/** @param {string} root */
export function writeStamp (root) {
  writeFileSync(join(root, STAMP), lockHash(root) + '\n')
}

if (isMain(import.meta.url)) {
  const root = process.cwd()
  if (process.argv[2] === 'stamp') {
    writeStamp(root)
  } else {
    process.stdout.write(`${installState(root) ?? 'current'}\n`)
  }
}
