/**
 * The version a user would install for a package the READMEs import that is
 * not one of ours: the range the workspace itself depends on.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { readJson } from './workspace.ts'
import type { Workspace } from './workspace.ts'

/** The range the workspaces use for `name`: published packages' dependencies first, then any manifest's */
export function workspaceRange (name: string, workspaces: Workspace[]): string | undefined {
  const ordered = [...workspaces].sort((a, b) => Number(a.manifest.private === true) - Number(b.manifest.private === true))

  for (const field of ['dependencies', 'peerDependencies', 'devDependencies'] as const) {
    for (const ws of ordered) {
      const range = ws.manifest[field]?.[name]

      if (range != null && !/^(file|link|workspace):/.test(range)) {
        return range
      }
    }
  }

  return undefined
}

/** The exact version of a package installed at the repository root (the toolchain's typescript, `@types/node`) */
export function installedVersion (root: string, name: string): string {
  const manifest = join(root, 'node_modules', name, 'package.json')

  if (!existsSync(manifest)) {
    throw new Error(`${name} is not installed in ${root}/node_modules`)
  }

  return readJson(manifest).version
}
