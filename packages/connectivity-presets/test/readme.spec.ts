/**
 * The README's TypeScript example runs as it is.
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
    const blocks = [...readme.matchAll(/```TypeScript\n([\s\S]*?)```/g)].map(m => m[1])
    expect(blocks).to.have.lengthOf(1)
    // inside the package, so '@x/connectivity-presets' resolves to this package's dist
    const file = join(process.cwd(), 'dist', 'readme-example.mjs')
    writeFileSync(file, blocks[0])

    try {
      const { stdout } = await run(process.execPath, [file], { timeout: 50_000 })
      expect(stdout).to.match(/listening on \/ip4\/127\.0\.0\.1\/tcp\//)
      expect(stdout).to.include('NAT status: unknown')
    } finally {
      rmSync(file, { force: true })
    }
  })
})
