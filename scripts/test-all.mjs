// Runs `npm run test` in every workspace that has one, in workspace order,
// keeps going after a failure so one broken package hides nothing, then
// prints a per-package table and one closing line: "N passed, N failed, N skipped".
// Runs on any Node (no dependencies); scripts/run.sh puts Node 24 on PATH first.
import { spawn } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const root = process.cwd()
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const only = process.argv.slice(2)
const dirs = []

for (const pattern of workspaces) {
  if (pattern.endsWith('/*')) {
    const { readdirSync } = await import('node:fs')
    const base = pattern.slice(0, -2)
    for (const name of readdirSync(join(root, base)).sort()) dirs.push(join(base, name))
  } else {
    dirs.push(pattern)
  }
}

// interop runs last: it is the slowest and needs every package built
dirs.sort((a, b) => Number(a === 'interop') - Number(b === 'interop'))

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')
const rows = []
let anyFailed = false

for (const dir of dirs) {
  const manifestPath = join(root, dir, 'package.json')
  if (!existsSync(manifestPath)) continue
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (manifest.scripts?.test == null) continue
  if (only.length > 0 && !only.some(o => dir.includes(o) || manifest.name.includes(o))) continue

  process.stdout.write(`\n===== ${manifest.name} (${dir}): npm run test =====\n`)
  const started = Date.now()
  let output = ''
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['run', 'test', '--silent'], { cwd: join(root, dir), stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => { output += d; process.stdout.write(d) })
    child.stderr.on('data', (d) => { output += d; process.stderr.write(d) })
    child.on('close', (c) => resolve(c ?? 1))
  })
  const text = strip(output)
  const count = (re) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
  const row = {
    name: manifest.name,
    passed: count(/^\s*(\d+) passing/gm),
    failed: count(/^\s*(\d+) failing/gm),
    skipped: count(/^\s*(\d+) pending/gm),
    seconds: Math.round((Date.now() - started) / 1000),
    ok: code === 0
  }
  if (!row.ok && row.failed === 0) row.failed = 1 // the runner itself failed
  anyFailed ||= !row.ok
  rows.push(row)
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
