/**
 * Runs the benchmarks: `npm run bench` runs them all, `npm run bench -- pool`
 * those whose `<area>-<file>` name contains "pool". Each benchmark is a
 * script in `bench/<area>/` that prints its own table and writes
 * `bench/results/<area>-<name>.json`; they run one at a time so they do not
 * disturb each other's numbers.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const benches: Array<{ name: string, file: string }> = []

for (const area of readdirSync(here).sort()) {
  const dir = join(here, area)

  if (!statSync(dir).isDirectory() || area === 'results' || area === 'node_modules' || area === 'lib') {
    continue
  }

  for (const file of readdirSync(dir).sort()) {
    // `*-worker.ts` files are processes a benchmark starts, not benchmarks
    if (file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('-worker.ts')) {
      benches.push({ name: `${area}-${file.replace(/\.ts$/, '')}`, file: join(dir, file) })
    }
  }
}

const selected = benches.filter(b => filters.length === 0 || filters.some(f => b.name.includes(f)))

if (selected.length === 0) {
  process.stderr.write(`no benchmark matches ${filters.join(' ')}; there are: ${benches.map(b => b.name).join(', ')}\n`)
  process.exit(1)
}

let failed = 0

for (const bench of selected) {
  process.stdout.write(`\n### ${bench.name}\n`)
  const result = spawnSync(process.execPath, ['--expose-gc', bench.file], { stdio: 'inherit' })

  if (result.status !== 0) {
    failed++
    process.stdout.write(`!!! ${bench.name} exited with ${result.status ?? result.signal}\n`)
  }
}

process.exit(failed > 0 ? 1 : 0)
