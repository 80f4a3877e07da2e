// The scripts pass the lint the packages pass (the repository's eslint
// config: aegir's), so `npm test` fails on a lint problem in scripts/ as
// `npm run lint` does. Warnings count: scripts/ has none.
import assert from 'node:assert/strict'
import { relative } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('scripts/: lint', () => {
  it('has no eslint problem under the repository config', async () => {
    const eslint = new ESLint({ cwd: root })
    const results = await eslint.lintFiles(['scripts'])
    const problems = results.flatMap(r => r.messages.map(m => `${relative(root, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? 'parse'}: ${m.message}`))

    assert.ok(results.length >= 10, `linted ${results.length} files`)
    assert.deepEqual(problems, [])
  })
})
