/**
 * `npm pack` of workspaces, once per process: the tarballs a user would
 * install, with a hash of each.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import type { Workspace } from './workspace.ts'

const run = promisify(execFile)

/** at most this long for one `npm pack` */
export const PACK_TIMEOUT = 120_000
/** at most this long for bringing the packed workspaces' builds up to date */
export const BUILD_TIMEOUT = 15 * 60_000
/** the repository's incremental build (builds only what changed since the last build) */
export const BUILD_SCRIPT = join('scripts', 'build.mjs')

export interface Tarball {
  name: string
  version: string
  workspace: Workspace
  /** absolute path of the .tgz */
  file: string
  /** its file name (`x-health-0.1.0.tgz`) */
  filename: string
  sha256: string
  /**
   * A hash of what the tarball installs: every packed file but the README
   * (a README edit does not call for a new install), read from the tarball
   * itself, so a workspace file changed after packing (a build running at
   * the same time) cannot key a cached install of other contents
   */
  contentHash: string
  /** paths inside the tarball, without the leading `package/` */
  files: string[]
}

interface PackResult {
  filename: string
  files: Array<{ path: string }>
}

const packed = new Map<string, Promise<Tarball>>()
let destination: string | undefined

/**
 * Builds what changed among the workspaces (and what they depend on) with the
 * repository's incremental build, so a tarball never carries a stale dist.
 * Under the root `npm test` everything is built already and this only checks.
 */
export async function ensureBuilt (root: string, workspaces: Workspace[]): Promise<void> {
  if (!existsSync(join(root, BUILD_SCRIPT))) {
    return
  }

  try {
    await run(process.execPath, [BUILD_SCRIPT, ...workspaces.map(ws => ws.dir)], { cwd: root, timeout: BUILD_TIMEOUT, maxBuffer: 64 * 1024 * 1024 })
  } catch (err: any) {
    throw new Error(`the build of ${workspaces.map(ws => ws.dir).join(', ')} failed:\n${err.stderr ?? err.message}`)
  }
}

/** Packs a workspace (once per process) into a temporary folder */
export async function pack (workspace: Workspace): Promise<Tarball> {
  let result = packed.get(workspace.dir)

  if (result == null) {
    result = packOnce(workspace)
    packed.set(workspace.dir, result)
  }

  return result
}

async function packOnce (workspace: Workspace): Promise<Tarball> {
  if (workspace.manifest.exports != null && !existsSync(join(workspace.path, 'dist'))) {
    throw new Error(`${workspace.dir} has no dist/: build it first (npm run build)`)
  }

  destination ??= mkdtempSync(join(tmpdir(), 'x-consumer-pack-'))
  const { stdout } = await run('npm', ['pack', '--json', '--silent', '--pack-destination', destination], {
    cwd: workspace.path,
    timeout: PACK_TIMEOUT,
    maxBuffer: 16 * 1024 * 1024
  })
  const [info]: PackResult[] = JSON.parse(stdout)
  const file = join(destination, info.filename)

  return {
    name: workspace.manifest.name,
    version: workspace.manifest.version,
    workspace,
    file,
    filename: info.filename,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    contentHash: tarballContentHash(file),
    files: info.files.map(f => f.path)
  }
}

/** Every entry of a .tgz (type, mode, path, contents), its top-level README aside */
export function tarballContentHash (file: string): string {
  const tar = gunzipSync(readFileSync(file))
  const entries: Array<{ key: string, data: Buffer }> = []
  const field = (header: Buffer, start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0[\s\S]*$/, '')
  let offset = 0

  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)

    if (header.every(b => b === 0)) {
      break
    }

    const size = parseInt(field(header, 124, 12).trim() === '' ? '0' : field(header, 124, 12).trim(), 8)
    const prefix = field(header, 345, 155)
    const name = prefix === '' ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`
    const data = tar.subarray(offset + 512, offset + 512 + size)
    offset += 512 + Math.ceil(size / 512) * 512

    if (!/^package\/readme(\.[^/]*)?$/i.test(name)) {
      entries.push({ key: `${field(header, 156, 1)}\0${field(header, 100, 8)}\0${name}`, data })
    }
  }

  const hash = createHash('sha256')

  for (const entry of entries.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))) {
    hash.update(entry.key).update('\0').update(String(entry.data.length)).update('\0').update(entry.data)
  }

  return hash.digest('hex')
}
