/**
 * Small statistics and reporting helpers shared by the benchmarks.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function percentile (values: number[], p: number): number {
  if (values.length === 0) {
    return NaN
  }

  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export function median (values: number[]): number {
  return percentile(values, 50)
}

export function mean (values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}

export function fmt (n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n)
}

/** Prints rows as an aligned table */
export function printTable (title: string, rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {})
  const cells = rows.map(row => columns.map(c => typeof row[c] === 'number' ? fmt(row[c] as number) : String(row[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(r => r[i].length)))
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i])).join('  ')

  process.stdout.write(`\n${title}\n${line(columns)}\n${widths.map(w => '-'.repeat(w)).join('  ')}\n`)
  for (const row of cells) {
    process.stdout.write(`${line(row)}\n`)
  }
}

/** Writes bench/results/<name>.json with the machine it ran on */
export function writeResults (name: string, results: unknown): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n')
  process.stdout.write(`\nwrote ${file}\n`)
  return file
}
