import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ENGINES, runsTypeScript } from '../lib/node-version.mjs'

describe('scripts/lib/node-version.mjs: the Node floor', () => {
  it('accepts only versions that strip types by default', () => {
    for (const v of ['22.18.0', '22.21.1', 'v23.6.0', '24.0.0', '25.2.1']) { assert.equal(runsTypeScript(v), true, v) }
    for (const v of ['20.19.0', '22.7.0', '22.17.1', '23.5.0', 'v21.9.0', 'nonsense', '']) { assert.equal(runsTypeScript(v), false, v) }
  })

  it('is the floor the root package.json states', () => {
    const root = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    assert.equal(root.engines.node, ENGINES)
  })
})

describe('scripts/lib/node-version.mjs as a command', () => {
  it('runs its check from a checkout under a path with spaces and a symlink', async () => {
    const { mkdtempSync, symlinkSync, rmSync, writeFileSync } = await import('node:fs')
    const { spawnSync } = await import('node:child_process')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { fileURLToPath, pathToFileURL } = await import('node:url')
    const dir = mkdtempSync(join(tmpdir(), 'x node version '))
    try {
      symlinkSync(fileURLToPath(new URL('..', import.meta.url)), join(dir, 'scripts'))
      // this Node, posing as 20.19
      writeFileSync(join(dir, 'node20.mjs'), 'Object.defineProperty(process.versions, "node", { value: "20.19.0" })\n')
      const script = join(dir, 'scripts', 'lib', 'node-version.mjs')
      const asNode20 = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'node20.mjs')).href, script], { encoding: 'utf8' })
      assert.equal(asNode20.status, 1, `a Node that is too old is told so wherever the checkout is: ${asNode20.stderr}`)
      assert.equal(spawnSync(process.execPath, [script]).status, 0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
