import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { parseDemoOptions } from '../src/options.ts'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts')

async function runDemo (args: string[], signalAfterMs?: number): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })

  if (signalAfterMs != null) {
    const waitForTicks = setInterval(() => {
      if (output.split('\n').filter(l => /^\d+\s/.test(l)).length >= 2) {
        clearInterval(waitForTicks)
        child.kill('SIGINT')
      }
    }, 100)
    setTimeout(() => { clearInterval(waitForTicks) }, signalAfterMs)
  }

  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, output }
}

describe('demo', () => {
  it('validates its options', () => {
    expect(parseDemoOptions([])).to.deep.equal({ duration: undefined, interval: 2 })
    expect(parseDemoOptions(['--duration', '5', '--interval', '0.5'])).to.deep.equal({ duration: 5, interval: 0.5 })
    expect(() => parseDemoOptions(['--duration=-1'])).to.throw().with.property('name', 'InvalidDemoOptionError')
    expect(() => parseDemoOptions(['--bogus'])).to.throw()
  })

  it('runs for a fixed time, prints successful rounds and exits 0', async function () {
    this.timeout(60_000)
    const { code, output } = await runDemo(['--duration', '4', '--interval', '1'])

    expect(code, output).to.equal(0)
    const rounds = output.split('\n').filter(l => /^\d+\s/.test(l))
    expect(rounds.length, output).to.be.at.least(2)
    for (const round of rounds) {
      expect(round, output).to.not.include('failed')
      expect(round, output).to.match(/ok\s+ok$/)
    }
    expect(output).to.match(/go peer pid \d+ exited \(code 0\)/)
  })

  it('stops both nodes and exits 0 on Ctrl-C', async function () {
    this.timeout(60_000)
    const { code, output } = await runDemo(['--interval', '0.5'], 30_000)

    expect(code, output).to.equal(0)
    expect(output).to.include('stopping...')
    expect(output).to.match(/go peer pid \d+ exited/)
  })
})
