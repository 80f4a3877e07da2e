import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { pack } from '../src/pack.ts'
import type { Workspace } from '../src/workspace.ts'

// after packing, a workspace holding this file gets a new index.js (as a build running at the same time would give it)
const EDIT_AFTER_PACK = 'edit-after-pack'
const POSTPACK = `node -e "const fs = require('fs'); if (fs.existsSync('${EDIT_AFTER_PACK}')) fs.writeFileSync('index.js', 'export const a = 2')"`

describe('npm pack and the hash the scratch install is cached by', function () {
  this.timeout(120_000)
  let dir = ''

  /** the same package (name, version, manifest) in folder `folder`, with its index.js and README */
  const workspace = (folder: string, code: string, readme: string, editAfterPack = false): Workspace => {
    const path = join(dir, folder)
    mkdirSync(path)
    const manifest = { name: '@t/pkg', version: '1.0.0', type: 'module', main: 'index.js', files: ['index.js'], scripts: { postpack: POSTPACK } }
    writeFileSync(join(path, 'package.json'), JSON.stringify(manifest))
    writeFileSync(join(path, 'index.js'), code)
    writeFileSync(join(path, 'README.md'), readme)
    if (editAfterPack) {
      writeFileSync(join(path, EDIT_AFTER_PACK), '')
    }
    return { dir: folder, path, manifest }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'x-consumer-pack-test-'))
  })

  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('hashes what the tarball holds (not the workspace files, edited since), its README aside', async () => {
    const edited = await pack(workspace('a', 'export const a = 1', '# one\n', true))
    const same = await pack(workspace('b', 'export const a = 1', '# another README\n'))
    const other = await pack(workspace('c', 'export const a = 3', '# one\n'))

    expect(edited.files).to.include('index.js')
    expect(edited.contentHash).to.equal(same.contentHash, 'the hash followed the workspace after packing, not the tarball')
    expect(other.contentHash).to.not.equal(same.contentHash)
  })
})
