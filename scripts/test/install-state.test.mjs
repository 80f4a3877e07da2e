// When scripts/run.sh installs the workspace, and with which command.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { installState, writeStamp } from '../lib/install-state.mjs'

let root
const lockPackages = {
  '': { name: 'root', workspaces: ['packages/a'] },
  'packages/a': { name: '@t/a', dependencies: { left: '^1.0.0' } },
  'node_modules/@t/a': { resolved: 'packages/a', link: true },
  'node_modules/left': { version: '1.0.0', integrity: 'sha512-x' },
  'node_modules/@esbuild/darwin-arm64': { version: '0.25.0', optional: true, os: ['darwin'] }
}
const writeLock = (packages) => writeFileSync(join(root, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }))
const writeNpmRecord = (packages) => writeFileSync(join(root, 'node_modules/.package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }))
const { '': _root, 'node_modules/@esbuild/darwin-arm64': _optional, ...installed } = lockPackages

describe('scripts/lib/install-state.mjs: install only when node_modules does not match the lock', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'x-install-test-'))
    writeLock(lockPackages)
  })

  afterEach(() => { rmSync(root, { recursive: true, force: true }) })

  it('a fresh clone is installed with npm ci', () => {
    assert.equal(installState(root), 'fresh')
  })

  it('nothing to do when our stamp matches the lock', () => {
    mkdirSync(join(root, 'node_modules'))
    assert.equal(installState(root), 'changed')
    writeStamp(root)
    assert.equal(installState(root), null)
    writeLock({ ...lockPackages, 'node_modules/right': { version: '2.0.0' } })
    assert.equal(installState(root), 'changed', 'the lock changed since')
  })

  it('nothing to do when npm itself installed what the lock says (another npm install)', () => {
    mkdirSync(join(root, 'node_modules'))
    writeNpmRecord({ ...installed, 'packages/a': { name: '@t/a', dependencies: {} } })
    assert.equal(installState(root), null, 'optional packages of other platforms and workspace manifests do not count')
    assert.equal(installState(root), null, 'and the stamp is written')
  })

  it('install when a package of the lock is missing, different or extra', () => {
    mkdirSync(join(root, 'node_modules'))
    writeNpmRecord({ ...installed, 'node_modules/left': { version: '0.9.0', integrity: 'sha512-y' } })
    assert.equal(installState(root), 'changed')
    writeNpmRecord({ 'node_modules/@t/a': installed['node_modules/@t/a'] })
    assert.equal(installState(root), 'changed')
    writeNpmRecord({ ...installed, 'node_modules/gone': { version: '1.0.0' } })
    assert.equal(installState(root), 'changed')
  })
})
