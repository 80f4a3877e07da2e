/**
 * The monorepo as the consumer test sees it: its root, the workspaces the
 * root package.json lists, and which of them are published.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageJson {
  name: string
  version: string
  private?: boolean
  license?: string
  files?: string[]
  exports?: Record<string, unknown>
  types?: string
  main?: string
  publishConfig?: { access?: string }
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  workspaces?: string[]
}

export interface Workspace {
  /** the folder, relative to the repository root (`packages/health`) */
  dir: string
  /** the folder, absolute */
  path: string
  manifest: PackageJson
}

/** The repository root: the nearest folder above this file whose package.json lists workspaces */
export function findRoot (from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from)

  while (true) {
    const manifest = join(dir, 'package.json')

    if (existsSync(manifest) && readJson(manifest).workspaces != null) {
      return dir
    }

    const parent = dirname(dir)

    if (parent === dir) {
      throw new Error(`no package.json with "workspaces" above ${from}`)
    }

    dir = parent
  }
}

export function readJson (file: string): PackageJson {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** Every workspace the root package.json lists (`dir/*` patterns expanded), in its order */
export function listWorkspaces (root: string = findRoot()): Workspace[] {
  const patterns = readJson(join(root, 'package.json')).workspaces ?? []
  const dirs: string[] = []

  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const base = pattern.slice(0, -2)
      for (const entry of readdirSync(join(root, base), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (entry.isDirectory()) {
          dirs.push(`${base}/${entry.name}`)
        }
      }
    } else {
      dirs.push(pattern)
    }
  }

  return dirs
    .filter(dir => existsSync(join(root, dir, 'package.json')))
    .map(dir => ({ dir, path: join(root, dir), manifest: readJson(join(root, dir, 'package.json')) }))
}

/** A workspace npm would publish: not `private: true` */
export function isPublishable (workspace: Workspace): boolean {
  return workspace.manifest.private !== true
}
