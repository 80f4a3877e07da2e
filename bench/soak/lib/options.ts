/**
 * `npm run bench -- soak [--minutes 30] [--go 2] [--nodes 4] [--cores N] [--sample 10] [--out bench/results/soak.json] [--heap-snapshots DIR]`
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

export interface SoakOptions {
  /** Length of the run, ms */
  duration: number
  /** go-libp2p peers */
  goPeers: number
  /** js nodes of the demo swarm */
  nodes: number
  /** Busy processes in the saturation phases (default: one per core) */
  cores: number
  /** ms between resource samples */
  sampleInterval: number
  /** ms between checks (one row of the table) */
  checkInterval: number
  out: string
  /**
   * Diagnosis: a directory to write a heap snapshot to after the drain (the
   * drained heaps of a long and a short run show what grows with time)
   */
  heapSnapshots?: string
}

export class InvalidSoakOptionError extends Error {
  static name = 'InvalidSoakOptionError'
  name = 'InvalidSoakOptionError'
}

function positive (name: string, value: string | undefined, fallback: number, min: number): number {
  if (value == null) {
    return fallback
  }

  const n = Number(value)

  if (!Number.isFinite(n) || n < min) {
    throw new InvalidSoakOptionError(`--${name} must be a number >= ${min} (got ${value})`)
  }

  return n
}

export function parseSoakOptions (argv: string[], resultsDir: string): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      go: { type: 'string' },
      nodes: { type: 'string' },
      cores: { type: 'string' },
      sample: { type: 'string' },
      out: { type: 'string' },
      'heap-snapshots': { type: 'string' }
    },
    strict: true
  })

  return {
    duration: Math.round(positive('minutes', values.minutes, 30, 1) * 60_000),
    goPeers: Math.round(positive('go', values.go, 2, 1)),
    // 4 js nodes: the fault link, the relayed link and two plain nodes
    nodes: Math.round(positive('nodes', values.nodes, 4, 3)),
    cores: Math.round(positive('cores', values.cores, availableParallelism(), 0)),
    sampleInterval: Math.round(positive('sample', values.sample, 10, 1) * 1000),
    checkInterval: 60_000,
    out: values.out ?? join(resultsDir, 'soak.json'),
    heapSnapshots: values['heap-snapshots']
  }
}
