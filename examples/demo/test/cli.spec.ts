import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts')

interface Run { code: number | null, signal: NodeJS.Signals | null, output: string }

/** Runs the demo; sends `signal` once the first status table is printed */
async function runDemo (args: string[], signal?: NodeJS.Signals): Promise<Run> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let sent = false
  const onData = (d: Buffer): void => {
    output += d.toString()

    if (signal != null && !sent && output.includes('req ok/fail')) {
      sent = true
      child.kill(signal)
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  // never leave a demo behind, whatever happens
  const guard = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.on('close', (c, s) => { resolve([c, s]) }))
  clearTimeout(guard)
  return { code, signal: sig, output }
}

describe('demo command line', function () {
  this.timeout(120_000)

  it('runs for a fixed time, prints the dashboard address and status tables, exits 0', async () => {
    const { code, output } = await runDemo(['--nodes', '3', '--duration', '8', '--port', '0', '--interval', '2', '--no-faults'])

    expect(code, output).to.equal(0)
    expect(output).to.match(/dashboard: http:\/\/127\.0\.0\.1:\d+\//)
    expect(output.match(/req ok\/fail/g)?.length ?? 0, output).to.be.at.least(2)
    expect(output).to.include('stopping (duration)')
    expect(output).to.match(/stopped: 3 nodes stopped/)
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops every node and exits 0 on ${signal}`, async () => {
      const { code, output } = await runDemo(['--nodes', '3', '--port', '0', '--interval', '1'], signal)

      expect(code, output).to.equal(0)
      expect(output).to.include(`stopping (${signal})`)
      expect(output).to.match(/stopped: 3 nodes stopped, fault proxy closed/)
    })
  }
})
