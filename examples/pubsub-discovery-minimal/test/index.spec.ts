import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts')
const EXPECTED = [/B discovered C 12D3KooW\w+ at \/ip4\/127\.0\.0\.1\/tcp\/\d+/, /B dialled C: [1-9] connection/]

describe('example', function () {
  this.timeout(60_000)

  it('runs to completion and prints what its README promises', async () => {
    const child = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    const guard = setTimeout(() => child.kill('SIGKILL'), 50_000)
    const code = await new Promise<number | null>(resolve => child.on('close', resolve))
    clearTimeout(guard)

    expect(code, output).to.equal(0)
    for (const line of EXPECTED) {
      expect(output).to.match(line)
    }
  })
})
