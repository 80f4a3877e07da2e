/**
 * Runs the benchmarks: `npm run bench` runs them all, `npm run bench -- pool`
 * those whose `<area>-<file>` name contains "pool". Arguments from the first
 * one starting with `--` on go to each selected benchmark
 * (`npm run bench -- soak --minutes 5`). Each benchmark is a script in
 * `bench/<area>/` that prints its own table and writes
 * `bench/results/<area>-<name>.json`; they run one at a time so they do not
 * disturb each other's numbers. Helpers live in `bench/lib/` or in a folder
 * below an area (`bench/soak/lib/`): only `.ts` files directly in an area
 * folder are benchmarks.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const firstOption = args.findIndex(a => a.startsWith('--'))
const filters = firstOption < 0 ? args : args.slice(0, firstOption)
const forwarded = firstOption < 0 ? [] : args.slice(firstOption)
const benches: Array<{ name: string, file: string }> = []

for (const area of readdirSync(here).sort()) {
  const dir = join(here, area)

  if (!statSync(dir).isDirectory() || ['results', 'node_modules', 'lib', 'test'].includes(area)) {
    continue
  }

  for (const file of readdirSync(dir).sort()) {
    // `*-worker.ts` files are processes a benchmark starts, `*.spec.ts` tests (the 2-minute soak), not benchmarks
    if (file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('-worker.ts') && !file.endsWith('.spec.ts')) {
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
  const result = spawnSync(process.execPath, ['--expose-gc', bench.file, ...forwarded], { stdio: 'inherit' })

  if (result.status !== 0) {
    failed++
    process.stdout.write(`!!! ${bench.name} exited with ${result.status ?? result.signal}\n`)
  }
}

process.exit(failed > 0 ? 1 : 0)
