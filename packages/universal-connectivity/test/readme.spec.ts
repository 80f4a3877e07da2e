/**
 * The README's first example runs as it is (the second one, the runnable
 * example, is examples/connectivity-minimal, run by its own tests).
 */
import { execFile } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'

const run = promisify(execFile)

describe('README', function () {
  this.timeout(60_000)

  it('runs the example', async () => {
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8')
    const example = readme.slice(readme.indexOf('## Example'), readme.indexOf('## Runnable example'))
    const [block] = [...example.matchAll(/```TypeScript\n([\s\S]*?)```/g)].map(m => m[1])
    // inside the package, so '@x/universal-connectivity' resolves to this package's dist
    const file = join(process.cwd(), 'dist', 'readme-example.mjs')
    writeFileSync(file, block)

    try {
      const { stdout } = await run(process.execPath, [file], { timeout: 50_000 })
      expect(stdout).to.include('discovery:').and.include('holePunch:')
    } finally {
      rmSync(file, { force: true })
    }
  })
})
