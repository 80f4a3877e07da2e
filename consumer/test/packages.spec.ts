import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'
import { BUILD_TIMEOUT, ensureBuilt, pack, PACK_TIMEOUT } from '../src/pack.ts'
import { findRoot, isPublishable, listWorkspaces } from '../src/workspace.ts'
import type { Tarball } from '../src/pack.ts'

const run = promisify(execFile)
const root = findRoot()
const workspaces = listWorkspaces(root)
const published = workspaces.filter(isPublishable)
const privateNames = new Set(workspaces.filter(ws => !isPublishable(ws)).map(ws => ws.manifest.name))
const LICENCES = ['LICENSE-APACHE', 'LICENSE-MIT']
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const

/** the targets of an `exports` map (strings at any depth) */
function targets (value: unknown): string[] {
  if (typeof value === 'string') {
    return [value]
  }
  if (value != null && typeof value === 'object') {
    return Object.values(value).flatMap(targets)
  }
  return []
}

/** dist/src files of `files` whose source (src/x.ts for dist/src/x.js, .d.ts, .map) is not among them */
function orphanOutputs (files: string[]): string[] {
  const shipped = new Set(files)
  const sources = (base: string): string[] => ['.ts', '.mts', '.tsx', '.js'].map(ext => `${base}${ext}`)

  return files
    .filter(f => f.startsWith('dist/src/') && !shipped.has(f.slice('dist/'.length)))
    .filter(f => !sources(f.slice('dist/'.length).replace(/\.(d\.ts|js)(\.map)?$/, '')).some(s => shipped.has(s)))
}

async function fileIn (tarball: Tarball, path: string): Promise<string> {
  const { stdout } = await run('tar', ['-xzOf', tarball.file, `package/${path}`], { maxBuffer: 1024 * 1024 })
  return stdout
}

describe('the packages as npm packs them', () => {
  before(async function () {
    this.timeout(BUILD_TIMEOUT)
    await ensureBuilt(root, published)
  })

  it('the repository has both licences, and the root package.json names them', () => {
    for (const licence of LICENCES) {
      expect(readFileSync(join(root, licence), 'utf8')).to.not.be.empty()
    }
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).license).to.equal('Apache-2.0 OR MIT')
  })

  it('there are packages to publish', () => {
    expect(published.map(ws => ws.manifest.name)).to.include.members(['@x/interface', '@x/connection-pool', '@x/health', '@x/pubsub-peer-discovery', '@x/universal-connectivity'])
  })

  for (const ws of published) {
    describe(`${ws.manifest.name} (${ws.dir})`, function () {
      this.timeout(PACK_TIMEOUT)
      let tarball: Tarball

      before(async function () {
        tarball = await pack(ws)
      })

      it('ships README.md, LICENSE-APACHE and LICENSE-MIT (the root texts)', async () => {
        expect(tarball.files).to.include.members(['package.json', 'README.md', ...LICENCES])

        for (const licence of LICENCES) {
          expect(await fileIn(tarball, licence), `${ws.dir}/${licence} differs from the root one`).to.equal(readFileSync(join(root, licence), 'utf8'))
        }
      })

      it('ships no tests and no build bookkeeping (tsbuildinfo, build stamp)', () => {
        const junk = tarball.files.filter(f => f.startsWith('dist/test/') || f.endsWith('.tsbuildinfo') || f.endsWith('.x-build-stamp.json'))
        expect(junk).to.deep.equal([])
      })

      it('ships no build output of a deleted source (each dist/src file has its src file)', () => {
        expect(orphanOutputs(tarball.files), 'stale output in dist/: rebuild from an empty dist (npm run clean, then build)').to.deep.equal([])
      })

      it('is licensed Apache-2.0 OR MIT and published with public access', () => {
        expect(ws.manifest.license).to.equal('Apache-2.0 OR MIT')

        if (ws.manifest.name.startsWith('@')) {
          expect(ws.manifest.publishConfig?.access, 'a scoped package is private on the registry unless publishConfig.access is "public"').to.equal('public')
        }
      })

      it('depends on no private workspace and on nothing by path', () => {
        for (const field of DEPENDENCY_FIELDS) {
          for (const [name, range] of Object.entries(ws.manifest[field] ?? {})) {
            expect(privateNames.has(name), `${field}.${name} is a private workspace: it is not on the registry`).to.equal(false)
            expect(range, `${field}.${name}`).to.not.match(/^(file|link|workspace):/)
          }
        }
      })

      it('ships every file its exports and types point to', () => {
        const paths = [...targets(ws.manifest.exports), ws.manifest.types, ws.manifest.main]
          .filter((p): p is string => p != null && !p.includes('*'))
          .map(p => p.replace(/^\.\//, ''))

        expect(paths).to.not.be.empty()

        for (const path of paths) {
          expect(tarball.files, `${path} is in exports or types but not in the tarball`).to.include(path)
        }
      })
    })
  }
})
