/**
 * The README's example runs as it is.
 */
import { execFile } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'

const run = promisify(execFile)

describe('README', function () {
  it('runs the example', async () => {
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8')
    const example = readme.slice(readme.indexOf('## Example'), readme.indexOf('## How it works'))
    const [block] = [...example.matchAll(/```TypeScript\n([\s\S]*?)```/g)].map(m => m[1])
    // inside the package, so '@x/hole-punching' resolves to this package's dist
    const file = join(process.cwd(), 'dist', 'readme-example.mjs')
    writeFileSync(file, block)

    try {
      const { stdout } = await run(process.execPath, [file], { timeout: 50_000 })
      expect(stdout).to.include('public address: not known yet').and.include('metrics:')
    } finally {
      rmSync(file, { force: true })
    }
  })
})
