import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ENGINES, runsTypeScript } from '../lib/node-version.mjs'

describe('scripts/lib/node-version.mjs: the Node floor', () => {
  it('accepts only versions that strip types by default', () => {
    for (const v of ['22.18.0', '22.21.1', 'v23.6.0', '24.0.0', '25.2.1']) assert.equal(runsTypeScript(v), true, v)
    for (const v of ['20.19.0', '22.7.0', '22.17.1', '23.5.0', 'v21.9.0', 'nonsense', '']) assert.equal(runsTypeScript(v), false, v)
  })

  it('is the floor the root package.json states', () => {
    const root = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    assert.equal(root.engines.node, ENGINES)
  })
})
