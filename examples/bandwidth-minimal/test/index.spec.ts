import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts')
const packageReadme = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'bandwidth', 'README.md')
const EXPECTED = [
  /ping during the transfer: \d+ ms/,
  /bulk class sent 524288 bytes, interactive class sent 96 bytes/,
  /^x_bandwidth_class_bytes_total\{direction="out",class="bulk"\} 524288$/m
]

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

  it('is shown verbatim in the @x/bandwidth README, so the docs cannot rot', () => {
    const source = readFileSync(entry, 'utf8')
    const program = source.slice(source.search(/^import /m)).trimEnd()
    const readme = readFileSync(packageReadme, 'utf8')

    expect(readme).to.include('```TypeScript\n' + program + '\n```', 'update the "Runnable example" section of the README')
  })
})
