// scripts/test-all.mjs on a throw-away monorepo whose workspaces run real
// mocha and node:test suites: after the per-package table, the tail of the
// log names every failed test (package, full title, first line of its error),
// so a CI log that keeps only its tail still says what failed.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const SCRIPT = join(REPO, 'scripts/test-all.mjs')
// the mocha aegir runs (installed with the workspace)
const MOCHA = join(REPO, 'node_modules/mocha/bin/mocha.js')

const MOCHA_SPEC = `
import assert from 'node:assert/strict'
describe('demo swarm', function () {
  describe('fault cycle', function () {
    it('loses no request', () => {
      const err = new Error('node 2: NoConnectionAvailableError\\nsecond line of the message')
      err.name = 'AssertionError'
      throw err
    })
    it('passes', () => {})
  })
  it('diffs values', () => { assert.deepEqual({ a: 1 }, { a: 2 }) })
})
describe('hooks', function () {
  before(() => { throw new TypeError('before broke') })
  it('never runs', () => {})
})
it('a root test fails', () => { throw new RangeError('out of range') })
`

const NODE_TEST = `
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
describe('lock', () => {
  it('is taken over', () => { assert.equal(1, 2) })
  it('works', () => {})
})
`

let root

const write = (rel, text) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true })
  writeFileSync(join(root, rel), text)
}

const addPackage = (dir, name, test) => {
  write(`${dir}/package.json`, JSON.stringify({ name, type: 'module', scripts: { test } }))
}

/**
 * @param {...string} args - arguments of scripts/test-all.mjs
 * @returns {Promise<{ code: number, output: string }>}
 */
const runAll = (...args) => runAllWith({}, ...args)

/**
 * @param {Record<string, string>} extraEnv - environment variables to add
 * @param {...string} args - arguments of scripts/test-all.mjs
 * @returns {Promise<{ code: number, output: string }>}
 */
const runAllWith = (extraEnv, ...args) => new Promise((resolve, reject) => {
  // without the variable that makes a `node --test` inside this test report to this runner
  const { NODE_TEST_CONTEXT, ...inherited } = process.env
  const env = { ...inherited, ...extraEnv }
  const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', d => { output += d })
  child.stderr.on('data', d => { output += d })
  child.on('error', reject)
  child.on('close', code => { resolve({ code, output }) })
})

describe('scripts/test-all.mjs', () => {
  let result
  let tail

  before(async () => {
    assert.ok(existsSync(MOCHA), `mocha is not installed at ${MOCHA}`)
    root = mkdtempSync(join(tmpdir(), 'x-test-all-test-'))
    write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['pkgs/*', 'extra/*'] }))
    addPackage('pkgs/green', '@t/green', `node ${JSON.stringify(MOCHA)} green.spec.mjs`)
    write('pkgs/green/green.spec.mjs', "it('passes', () => {})\n")
    addPackage('pkgs/red', '@t/red', `node ${JSON.stringify(MOCHA)} red.spec.mjs`)
    write('pkgs/red/red.spec.mjs', MOCHA_SPEC)
    addPackage('pkgs/node-test', '@t/node-test', 'node --test lock.test.mjs')
    write('pkgs/node-test/lock.test.mjs', NODE_TEST)
    addPackage('pkgs/broken', '@t/broken', 'node -e "console.log(\'compiling\'); console.error(\'src/index.ts(3,1): error TS1005\'); process.exit(2)"')
    // titles and an error message that read like mocha's summary lines
    addPackage('pkgs/titles', '@t/titles', `node ${JSON.stringify(MOCHA)} titles.spec.mjs`)
    write('pkgs/titles/titles.spec.mjs', "describe('swarm', function () { describe('2 failing peers', function () { it('3 passing', () => { throw new Error('x\\n  4 passing (1ms)\\n  5 failing') }) }) })\nit('ok', () => {})\n")
    // a test command that masks its runner's exit code
    addPackage('pkgs/masked', '@t/masked', `node ${JSON.stringify(MOCHA)} ../titles/titles.spec.mjs || true`)
    // a huge failure: 60 failed tests, the first with a 4000-character title
    // (out of the filter of the first run)
    addPackage('extra/long', '@t/long', `node ${JSON.stringify(MOCHA)} long.spec.mjs`)
    // eslint-disable-next-line no-template-curly-in-string -- the written spec's own template literal
    write('extra/long/long.spec.mjs', "it('t'.repeat(4000), () => { throw new Error('e'.repeat(4000)) })\nfor (let i = 1; i < 60; i++) it(`fails ${i}`, () => { throw new Error('no') })\n")
    // a suite that exits 0 before its runner prints a summary (code under test called process.exit(0))
    addPackage('pkgs/silent', '@t/silent', 'node -e "console.log(\'starting the swarm\'); process.exit(0)"')
    // a suite that never ends (a timer or socket left open): its npm and the node under it
    addPackage('extra/hung', '@t/hung', 'node hang.mjs')
    write('extra/hung/hang.mjs', "import { writeFileSync } from 'node:fs'\nwriteFileSync('hung.pid', String(process.pid))\nconsole.log('forming the swarm')\nsetInterval(() => {}, 1000)\n")
    // a node run and a browser run, as aegir prints them: the browser summary follows a test line, no blank line
    addPackage('extra/browser', '@t/browser', 'node two-runs.mjs')
    write('extra/browser/two-runs.mjs', "console.log('test node.js\\n  \\u2714 passes\\n\\n  2 passing (3ms)\\n\\ntest browser\\n  \\u2705 passes in chromium\\n\\u001b[92m \\u001b[0m\\u001b[32m 66 passing\\u001b[0m\\u001b[90m (1m)\\u001b[0m')\n")
    // the filter keeps the repository's own scripts suite out of the fake monorepo
    result = await runAll('pkgs')
    tail = result.output.slice(result.output.lastIndexOf('\npackage '))
  })

  after(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it('exits 1 and prints the per-package table', () => {
    assert.equal(result.code, 1, result.output)
    assert.match(tail, /^@t\/green\s+1\s+0\s+0\s+\d+s\s+ok$/m, tail)
    assert.match(tail, /^@t\/red\s+1\s+4\s+0\s+\d+s\s+FAILED$/m, tail)
    assert.match(tail, /^@t\/node-test\s+1\s+1\s+0\s+\d+s\s+FAILED$/m, tail)
    // counted from mocha's summary alone, not from titles or errors that look like it
    assert.match(tail, /^@t\/titles\s+1\s+1\s+0\s+\d+s\s+FAILED$/m, tail)
    // its summary says a test failed: exit code 0 or not
    assert.match(tail, /^@t\/masked\s+1\s+1\s+0\s+\d+s\s+FAILED$/m, tail)
  })

  it('after the table, names every failed mocha test by package, full title and the first line of its error', () => {
    const lines = tail.split('\n')
    for (const expected of [
      '@t/red: demo swarm > fault cycle > loses no request: AssertionError: node 2: NoConnectionAvailableError',
      '@t/red: demo swarm > diffs values: AssertionError [ERR_ASSERTION]: Expected values to be strictly deep-equal:',
      '@t/red: hooks > "before all" hook for "never runs": TypeError: before broke',
      '@t/red: a root test fails: RangeError: out of range'
    ]) {
      assert.ok(lines.some(l => l.trim() === expected), `no line "${expected}" in the tail:\n${tail}`)
    }
    assert.doesNotMatch(tail, /second line of the message/, 'only the first line of an error')
  })

  it('names a failed node:test test with its file and line', () => {
    assert.ok(tail.split('\n').some(l => /^\s*@t\/node-test: lock\.test\.mjs:5:\d+ is taken over: AssertionError \[ERR_ASSERTION\]: Expected values to be strictly equal:$/.test(l)), tail)
  })

  it('names a package whose test command failed without a test summary, with its exit code and last line of output', () => {
    assert.ok(tail.split('\n').some(l => l.trim() === '@t/broken: npm run test exited with code 2 before naming a failed test; its last line: src/index.ts(3,1): error TS1005'), tail)
  })

  it('fails a suite that exits 0 without a test summary (no runner said its tests passed)', async () => {
    const silent = await runAll('silent')
    const silentTail = silent.output.slice(silent.output.lastIndexOf('\npackage '))
    assert.equal(silent.code, 1, silent.output)
    assert.match(silentTail, /^@t\/silent\s+0\s+1\s+0\s+\d+s\s+FAILED$/m, silentTail)
    assert.ok(silentTail.split('\n').some(l => l.trim() === '@t/silent: npm run test exited with code 0 without a test summary; its last line: starting the swarm'), silentTail)
  })

  it('lists at most 50 failed tests, each line bounded however long its title and error', async () => {
    const long = await runAll('long')
    const longTail = long.output.slice(long.output.lastIndexOf('\nfailed tests'))
    const listed = longTail.split('\n').filter(l => l.startsWith('  @t/long: '))
    assert.equal(long.code, 1, longTail)
    assert.equal(listed.length, 50, longTail)
    assert.match(longTail, /^ {2}\.\.\. and 10 more \(see the output above\)$/m)
    assert.ok(listed.every(l => l.length <= 1100), `a line of ${Math.max(...listed.map(l => l.length))} characters`)
  })

  it('ends a suite that outlives X_SUITE_TIMEOUT_S, with every process under it, and names it', async () => {
    const hung = await runAllWith({ X_SUITE_TIMEOUT_S: '3' }, 'hung')
    const hungTail = hung.output.slice(hung.output.lastIndexOf('\npackage '))
    assert.equal(hung.code, 1, hung.output)
    assert.match(hungTail, /^@t\/hung\s+0\s+1\s+0\s+\d+s\s+FAILED$/m, hungTail)
    assert.ok(hungTail.split('\n').some(l => l.trim() === '@t/hung: npm run test did not end within 3 s and was killed; its last line: forming the swarm'), hungTail)
    const pid = Number(readFileSync(join(root, 'extra/hung/hung.pid'), 'utf8'))
    // gone, or dead and not yet reaped by its new parent (a zombie runs nothing)
    const running = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      } catch {
        return false
      }
    }
    for (let i = 0; i < 50 && running(); i++) { await new Promise(resolve => setTimeout(resolve, 100)) }
    assert.equal(running(), false, `the suite's node process ${pid} is still running`)
  })

  it('refuses a time limit that is not a positive number of seconds', async () => {
    const bad = await runAllWith({ X_SUITE_TIMEOUT_S: 'soon' }, 'green')
    assert.equal(bad.code, 2, bad.output)
    assert.match(bad.output, /X_SUITE_TIMEOUT_S must be a positive number of seconds, not "soon"/)
  })

  it('counts a browser run whose summary follows its last test line', async () => {
    const browser = await runAll('browser')
    const browserTail = browser.output.slice(browser.output.lastIndexOf('\npackage '))
    assert.equal(browser.code, 0, browser.output)
    assert.match(browserTail, /^@t\/browser\s+68\s+0\s+0\s+\d+s\s+ok$/m, browserTail)
  })

  it('names nothing when every test passed', async () => {
    const green = await runAll('green')
    assert.equal(green.code, 0, green.output)
    assert.doesNotMatch(green.output, /failed tests/)
  })
})
