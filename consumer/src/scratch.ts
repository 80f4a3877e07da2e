/**
 * A project outside the workspace with the tarballs installed the way a user
 * installs them (`npm install`, no hoisting from the monorepo), cached by a
 * hash of the tarballs' contents (their READMEs aside) and of its package.json.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Tarball } from './pack.ts'

const run = promisify(execFile)

/** at most this long for `npm install` in the scratch project */
export const INSTALL_TIMEOUT = 15 * 60_000
/** scratch installs kept per project name under the cache folder (the most recently used) */
export const KEEP_INSTALLS = 2
/** where the scratch installs live */
export const CACHE_DIR = join(tmpdir(), 'x-consumer')

const READY = '.x-consumer-ready'

export interface ScratchInit {
  /** installed as `file:` dependencies (and forced for every dependent through `overrides`) */
  tarballs: Tarball[]
  /** other dependencies, name -> range */
  dependencies: Record<string, string>
  /** a name for the project (part of the cache key) */
  name: string
}

export interface Scratch {
  dir: string
  /** false when this call installed it */
  cached: boolean
  /** the scratch project's package.json */
  manifest: Record<string, unknown>
}

export function scratchManifest (init: ScratchInit): Record<string, unknown> {
  const dependencies: Record<string, string> = {}
  const overrides: Record<string, string> = {}

  for (const t of [...init.tarballs].sort((a, b) => a.name.localeCompare(b.name))) {
    dependencies[t.name] = `file:tarballs/${t.filename}`
    // a dependent's `^0.1.0` must get the tarball, never the registry
    overrides[t.name] = `$${t.name}`
  }

  for (const name of Object.keys(init.dependencies).sort()) {
    dependencies[name] ??= init.dependencies[name]
  }

  return { name: init.name, private: true, type: 'module', dependencies, overrides }
}

export async function prepareScratch (init: ScratchInit): Promise<Scratch> {
  const manifest = scratchManifest(init)
  const hash = createHash('sha256')
    .update(JSON.stringify(manifest))
    .update(process.version)

  for (const t of [...init.tarballs].sort((a, b) => a.name.localeCompare(b.name))) {
    hash.update(`${t.name}\0${t.contentHash}\0`)
  }

  const dir = join(CACHE_DIR, `${init.name}-${hash.digest('hex').slice(0, 16)}`)

  if (existsSync(join(dir, READY))) {
    writeFileSync(join(dir, READY), new Date().toISOString())
    return { dir, cached: true, manifest }
  }

  // install beside it, then rename: a run that stops half-way, or one running at the same time, never sees a half install
  const partial = `${dir}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(join(partial, 'tarballs'), { recursive: true })

  for (const t of init.tarballs) {
    copyFileSync(t.file, join(partial, 'tarballs', t.filename))
  }

  writeFileSync(join(partial, 'package.json'), JSON.stringify(manifest, null, 2) + '\n')

  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: partial,
      timeout: INSTALL_TIMEOUT,
      maxBuffer: 64 * 1024 * 1024,
      env: cleanEnv()
    })
  } catch (err: any) {
    rmSync(partial, { recursive: true, force: true })
    throw new Error(`npm install of the tarballs failed in ${partial}:\n${err.stderr ?? err.message}`)
  }

  writeFileSync(join(partial, READY), new Date().toISOString())

  try {
    renameSync(partial, dir)
  } catch {
    // another run installed the same thing first
    rmSync(partial, { recursive: true, force: true })
  }

  prune(init.name)
  return { dir, cached: false, manifest }
}

/** The environment without anything that would resolve modules from the monorepo */
export function cleanEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_PATH
  delete env.NODE_OPTIONS
  // npm run sets these to the workspace's settings; the scratch project has its own
  for (const key of Object.keys(env)) {
    if (key.startsWith('npm_config_') || key.startsWith('npm_package_')) {
      delete env[key]
    }
  }
  return env
}

/** Keeps the KEEP_INSTALLS most recently used installs of the project `name` */
function prune (name: string): void {
  const installs = readdirSync(CACHE_DIR)
    .filter(entry => !entry.includes('.partial-') && entry.slice(0, entry.lastIndexOf('-')) === name)
    .map(name => join(CACHE_DIR, name))
    .filter(path => existsSync(join(path, READY)))
    .sort((a, b) => statSync(join(b, READY)).mtimeMs - statSync(join(a, READY)).mtimeMs)

  for (const path of installs.slice(KEEP_INSTALLS)) {
    rmSync(path, { recursive: true, force: true })
  }
}
