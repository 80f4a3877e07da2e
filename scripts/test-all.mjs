// Runs the scripts' own tests (scripts/test, node:test), then `npm run test`
// in every workspace that has one, in workspace order, keeps going after a
// failure so one broken package hides nothing, then prints a per-package
// table, every failed test (package, full title, first line of its error:
// the tail of a CI log names what failed) and one closing line:
// "N passed, N failed, N skipped". A suite fails when its command exits
// non-zero (or is killed), when it exits 0 without a mocha or node:test
// summary (nothing then says its tests ran and passed), and when a summary
// counts a failed test whatever the exit code. A suite still running after
// X_SUITE_TIMEOUT_S seconds (default 1800) is killed, with every process it
// started, and fails.
// Runs on any Node (no dependencies); scripts/run.sh puts Node 24 on PATH first.
import { spawn } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { failedTests, lastLine } from './lib/test-failures.mjs'
import { listWorkspaces } from './lib/workspaces.mjs'

const root = process.cwd()
const only = process.argv.slice(2)
const dirs = listWorkspaces(root).map(w => w.dir)

// interop runs last: it is the slowest and needs every package built
dirs.sort((a, b) => Number(a === 'interop') - Number(b === 'interop'))

// eslint-disable-next-line no-control-regex -- ANSI colour codes begin with ESC
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')
const rows = []
let anyFailed = false
/** Failed tests listed after the table at most; the rest are counted */
const MAX_LISTED = 50
/** A suite still running after this many seconds is killed with every process under it and fails */
const SUITE_TIMEOUT_S = suiteTimeout(process.env.X_SUITE_TIMEOUT_S ?? '1800')
/** The output of a suite kept for its row: the tail, where the summaries and failures are */
const MAX_KEPT_OUTPUT = 16 * 1024 * 1024

/** @param {string} value - X_SUITE_TIMEOUT_S */
function suiteTimeout (value) {
  const seconds = Number(value)
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    process.stderr.write(`X_SUITE_TIMEOUT_S must be a positive number of seconds, not "${value}"\n`)
    process.exit(2)
  }
  return seconds
}

// passed/failed/skipped from the summaries of mocha (aegir) and node:test, whichever ran.
// mocha's epilogue: "  N passing (time)" after a blank line (node runs) or right after a
// passed test's line (aegir's browser runs), then "  N pending" and "  N failing" when
// there are any (a title or an error line that reads "3 passing" is none)
const MOCHA_SUMMARY = /(?:^|\n)(?:[ \t]*|[^\n]*[\u2714\u2705][^\n]*)\n {2}(\d+) passing \([^)\n]*\)(?:\n {2}(\d+) pending(?=\n|$))?(?:\n {2}(\d+) failing(?=\n|$))?/g
const NODE_TEST = {
  passed: /^ℹ pass (\d+)$/gm,
  failed: /^ℹ fail (\d+)$/gm,
  skipped: /^ℹ (?:skipped|todo) (\d+)$/gm
}

/**
 * passed, failed and skipped of every summary in `text`, and whether there was one
 *
 * @param {string} text - a suite's output, colours stripped
 */
function summaries (text) {
  const counts = { passed: 0, failed: 0, skipped: 0, summarised: false }

  for (const m of text.matchAll(MOCHA_SUMMARY)) {
    counts.passed += Number(m[1])
    counts.skipped += Number(m[2] ?? 0)
    counts.failed += Number(m[3] ?? 0)
    counts.summarised = true
  }

  for (const [key, re] of Object.entries(NODE_TEST)) {
    for (const m of text.matchAll(re)) {
      counts[key] += Number(m[1])
      counts.summarised = true
    }
  }

  return counts
}

/**
 * Runs one suite, echoing its output, and adds its row with the tests that
 * failed in it.
 *
 * @param {string} name - the suite's name in the table
 * @param {string} cwd - the folder it runs in
 * @param {string} command - the program to run
 * @param {string[]} args - its arguments
 */
async function runSuite (name, cwd, command, args) {
  process.stdout.write(`\n===== ${name} (${cwd === root ? '.' : cwd.slice(root.length + 1)}): ${[command, ...args].join(' ')} =====\n`)
  const started = Date.now()
  let output = ''
  let timedOut = false
  const keep = (d) => {
    output += d
    if (output.length > MAX_KEPT_OUTPUT) { output = output.slice(-MAX_KEPT_OUTPUT) }
  }
  const code = await new Promise((resolve) => {
    // its own process group, so a hung suite is ended with everything it started
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const killGroup = (signal) => {
      try { process.kill(-child.pid, signal) } catch { /* the group has ended already */ }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup('SIGTERM')
      setTimeout(() => { killGroup('SIGKILL') }, 10_000).unref()
    }, SUITE_TIMEOUT_S * 1000)
    const onInterrupt = () => { killGroup('SIGTERM'); process.exit(130) }
    process.once('SIGINT', onInterrupt)
    child.stdout.on('data', (d) => { keep(d); process.stdout.write(d) })
    child.stderr.on('data', (d) => { keep(d); process.stderr.write(d) })
    child.on('error', (err) => { keep(String(err)) })
    child.on('close', (c) => {
      clearTimeout(timer)
      process.off('SIGINT', onInterrupt)
      // anything it left behind in its group (a server, a go peer) goes with it
      killGroup('SIGKILL')
      resolve(c ?? 1)
    })
  })
  const text = strip(output)
  // exit 0 with no summary of mocha or node:test: the suite ended before its
  // runner reported (code under test called process.exit(0)), so nothing says its tests passed
  const { passed, failed, skipped, summarised } = summaries(text)
  const row = {
    name,
    command: [command === process.execPath ? 'node' : command, ...args.filter(a => a !== '--silent')].join(' '),
    passed,
    failed,
    skipped,
    seconds: Math.round((Date.now() - started) / 1000),
    // a summary that counts a failed test fails the suite whatever its exit code (`cmd || true`)
    ok: code === 0 && summarised && failed === 0,
    summarised,
    code,
    timedOut,
    failures: failedTests(text),
    lastLine: lastLine(text)
  }
  if (!row.ok && row.failed === 0) { row.failed = 1 } // the runner itself failed
  anyFailed ||= !row.ok
  rows.push(row)
}

/** What failed, a line each, for the tail of the log */
function failureLines () {
  const lines = []

  for (const r of rows) {
    for (const f of r.failures) {
      lines.push(`  ${r.name}: ${f.title}: ${f.error}`)
    }

    if (r.timedOut) {
      lines.push(`  ${r.name}: ${r.command} did not end within ${SUITE_TIMEOUT_S} s and was killed; its last line: ${r.lastLine}`)
    } else if (r.code === 0 && !r.summarised) {
      lines.push(`  ${r.name}: ${r.command} exited with code 0 without a test summary; its last line: ${r.lastLine}`)
    } else if (r.failures.length === 0 && !r.ok) {
      lines.push(`  ${r.name}: ${r.command} exited with code ${r.code} before naming a failed test; its last line: ${r.lastLine}`)
    } else if (r.failures.length < r.failed) {
      lines.push(`  ${r.name}: ${r.failed - r.failures.length} more failed without a title this script could read (see its output above)`)
    }
  }

  if (lines.length > MAX_LISTED) {
    const more = lines.length - MAX_LISTED
    lines.length = MAX_LISTED
    lines.push(`  ... and ${more} more (see the output above)`)
  }

  return lines
}

if (only.length === 0 || only.some(o => 'scripts'.includes(o))) {
  await runSuite('scripts', root, process.execPath, ['--test', 'scripts/test/*.test.mjs'])
}

for (const dir of dirs) {
  const manifestPath = join(root, dir, 'package.json')
  if (!existsSync(manifestPath)) { continue }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (manifest.scripts?.test == null) { continue }
  if (only.length > 0 && !only.some(o => dir.includes(o) || manifest.name.includes(o))) { continue }

  await runSuite(manifest.name, join(root, dir), 'npm', ['run', 'test', '--silent'])
}

const pad = (s, n) => String(s).padEnd(n)
const nameWidth = Math.max(30, ...rows.map(r => r.name.length + 2))
process.stdout.write(`\n${pad('package', nameWidth)}${pad('passed', 8)}${pad('failed', 8)}${pad('skipped', 9)}${pad('time', 7)}result\n`)
for (const r of rows) {
  process.stdout.write(`${pad(r.name, nameWidth)}${pad(r.passed, 8)}${pad(r.failed, 8)}${pad(r.skipped, 9)}${pad(r.seconds + 's', 7)}${r.ok ? 'ok' : 'FAILED'}\n`)
}
const failed = failureLines()
if (failed.length > 0) {
  process.stdout.write(`\nfailed tests (package: title: first line of the error):\n${failed.join('\n')}\n`)
}
const total = (k) => rows.reduce((n, r) => n + r[k], 0)
process.stdout.write(`\ntests: ${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped\n`)
process.exit(anyFailed ? 1 : 0)
