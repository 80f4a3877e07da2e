/**
 * Builds interop/go-peer once per source version: the binary is named by a
 * hash of the Go sources, go.mod and go.sum, so unchanged sources reuse it.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, mkdirSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

// src/ when run from source, dist/src/ when built: find go-peer by walking up
export const GO_PEER_DIR = findGoPeerDir(dirname(fileURLToPath(import.meta.url)))

function findGoPeerDir (from: string): string {
  let dir = from

  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'go-peer', 'go.mod'))) {
      return join(dir, 'go-peer')
    }

    dir = dirname(dir)
  }

  return join(from, '..', 'go-peer')
}

export class GoPeerBuildError extends Error {
  static name = 'GoPeerBuildError'
  name = 'GoPeerBuildError'
}

function sourceHash (): string {
  const hash = createHash('sha256')
  const files = readdirSync(GO_PEER_DIR)
    .filter(f => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort()

  if (!files.includes('go.mod')) {
    throw new GoPeerBuildError(`no go.mod in ${GO_PEER_DIR}`)
  }

  for (const file of files) {
    hash.update(file).update('\0').update(readFileSync(join(GO_PEER_DIR, file))).update('\0')
  }

  return hash.digest('hex').slice(0, 16)
}

let building: Promise<string> | undefined

/** The path of the go peer binary for the current sources, built if needed */
export async function buildGoPeer (): Promise<string> {
  building ??= (async () => {
    const binDir = join(GO_PEER_DIR, 'bin')
    const binary = join(binDir, `go-peer-${sourceHash()}`)

    if (existsSync(binary)) {
      return binary
    }

    mkdirSync(binDir, { recursive: true })
    const partial = `${binary}.partial-${process.pid}`
    const started = Date.now()

    try {
      await run('go', ['build', '-o', partial, '.'], {
        cwd: GO_PEER_DIR,
        timeout: 8 * 60_000,
        maxBuffer: 16 * 1024 * 1024
      })
    } catch (err: any) {
      rmSync(partial, { force: true })
      throw new GoPeerBuildError(`go build failed: ${err.stderr ?? err.message}`)
    }

    renameSync(partial, binary)

    for (const old of readdirSync(binDir)) {
      if (old.startsWith('go-peer-') && join(binDir, old) !== binary && !old.includes('.partial-')) {
        rmSync(join(binDir, old), { force: true })
      }
    }
    process.stderr.write(`interop: built ${binary} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)

    return binary
  })()

  return building
}
