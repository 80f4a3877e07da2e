import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts')
const packageReadme = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'health', 'README.md')
const EXPECTED = [/peer score (0\.9\d|1\.00), rtt \d+\.\d+ ms/, /summary: 1 peers, 1 connections/, /^x_health_connection_score\{peer="12D3KooW\w+",connection="\w+"\} [\d.]+$/m]

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

  it('is shown verbatim in the @x/health README, so the docs cannot rot', () => {
    const source = readFileSync(entry, 'utf8')
    const program = source.slice(source.search(/^import /m)).trimEnd()
    const readme = readFileSync(packageReadme, 'utf8')

    expect(readme).to.include('```TypeScript\n' + program + '\n```', 'update the "Runnable example" section of the README')
  })
})
