// One scripts/build.mjs at a time per checkout: two at once would build the
// same package into the same dist (one may empty it under the other) and
// stamp what the other left half-written. The lock is a file holding the
// holder's pid, created exclusively; a lock whose process is gone is taken
// over. Dependency-free.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const LOCK_FILE = join('.cache', 'x-build.lock')
/** how often a waiting run checks the lock */
export const LOCK_POLL_MS = 250
/** a lock file still empty after this long was left by a run that died while taking it */
const EMPTY_LOCK_STALE_MS = 5_000

/** @param {number} pid */
function alive (pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

/**
 * Waits until no other live build holds the lock of `root`, takes it, and
 * returns the function that releases it (also called when the process exits).
 *
 * @param {string} root
 * @param {(line: string) => void} [log]
 * @returns {Promise<() => void>}
 */
export async function acquireBuildLock (root, log = () => {}) {
  const path = join(root, LOCK_FILE)
  mkdirSync(dirname(path), { recursive: true })
  let told = false

  while (true) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      const release = () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) { rmSync(path, { force: true }) }
        } catch { /* the lock file is gone already */ }
      }
      process.once('exit', release)
      return release
    } catch (err) {
      if (err.code !== 'EEXIST') { throw err }
    }

    let text
    let age
    try {
      text = readFileSync(path, 'utf8')
      age = Date.now() - statSync(path).mtimeMs
    } catch {
      continue // released in between
    }
    const holder = Number(text)
    const stale = text === '' ? age > EMPTY_LOCK_STALE_MS : !Number.isInteger(holder) || holder <= 0 || !alive(holder)
    if (stale) {
      rmSync(path, { force: true })
      continue
    }
    if (!told) {
      log(`waiting for the build run by pid ${text || '(starting)'} (${LOCK_FILE})`)
      told = true
    }
    await sleep(LOCK_POLL_MS)
  }
}
