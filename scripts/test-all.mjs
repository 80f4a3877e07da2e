// Runs the scripts' own tests (scripts/test, node:test), then `npm run test`
// in every workspace that has one, in workspace order, keeps going after a
// failure so one broken package hides nothing, then prints a per-package
// table and one closing line: "N passed, N failed, N skipped".
// Runs on any Node (no dependencies); scripts/run.sh puts Node 24 on PATH first.
import { spawn } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { listWorkspaces } from './lib/workspaces.mjs'

const root = process.cwd()
const only = process.argv.slice(2)
const dirs = listWorkspaces(root).map(w => w.dir)

// interop runs last: it is the slowest and needs every package built
dirs.sort((a, b) => Number(a === 'interop') - Number(b === 'interop'))

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')
const rows = []
let anyFailed = false

/**
 * Runs one suite, echoing its output, and adds its row; `counts` reads
 * passed/failed/skipped from the output (mocha's or node:test's summary).
 */
async function runSuite (name, cwd, command, args, counts) {
  process.stdout.write(`\n===== ${name} (${cwd === root ? '.' : cwd.slice(root.length + 1)}): ${[command, ...args].join(' ')} =====\n`)
  const started = Date.now()
  let output = ''
  const code = await new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => { output += d; process.stdout.write(d) })
    child.stderr.on('data', (d) => { output += d; process.stderr.write(d) })
    child.on('error', (err) => { output += String(err) })
    child.on('close', (c) => resolve(c ?? 1))
  })
  const text = strip(output)
  const count = (re) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
  const row = {
    name,
    passed: count(counts.passed),
    failed: count(counts.failed),
    skipped: count(counts.skipped),
    seconds: Math.round((Date.now() - started) / 1000),
    ok: code === 0
  }
  if (!row.ok && row.failed === 0) row.failed = 1 // the runner itself failed
  anyFailed ||= !row.ok
  rows.push(row)
}

if (only.length === 0 || only.some(o => 'scripts'.includes(o))) {
  await runSuite('scripts', root, process.execPath, ['--test', 'scripts/test/*.test.mjs'], {
    passed: /^ℹ pass (\d+)/gm, failed: /^ℹ fail (\d+)/gm, skipped: /^ℹ (?:skipped|todo) (\d+)/gm
  })
}

for (const dir of dirs) {
  const manifestPath = join(root, dir, 'package.json')
  if (!existsSync(manifestPath)) continue
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (manifest.scripts?.test == null) continue
  if (only.length > 0 && !only.some(o => dir.includes(o) || manifest.name.includes(o))) continue

  await runSuite(manifest.name, join(root, dir), 'npm', ['run', 'test', '--silent'], {
    passed: /^\s*(\d+) passing/gm, failed: /^\s*(\d+) failing/gm, skipped: /^\s*(\d+) pending/gm
  })
}

const pad = (s, n) => String(s).padEnd(n)
const nameWidth = Math.max(30, ...rows.map(r => r.name.length + 2))
process.stdout.write(`\n${pad('package', nameWidth)}${pad('passed', 8)}${pad('failed', 8)}${pad('skipped', 9)}${pad('time', 7)}result\n`)
for (const r of rows) {
  process.stdout.write(`${pad(r.name, nameWidth)}${pad(r.passed, 8)}${pad(r.failed, 8)}${pad(r.skipped, 9)}${pad(r.seconds + 's', 7)}${r.ok ? 'ok' : 'FAILED'}\n`)
}
const total = (k) => rows.reduce((n, r) => n + r[k], 0)
process.stdout.write(`\ntests: ${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped\n`)
process.exit(anyFailed ? 1 : 0)
