// Builds the workspaces whose build is not current (see build-stamp.mjs), each
// after the workspaces it depends on, up to `jobs` at a time. A workspace is
// checked only once its dependencies are done, so a dependency that was just
// rebuilt with a different dist makes its dependants rebuild too.
import { spawn } from 'node:child_process'
import { existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cleanReason, inputFiles, lockDigest, OUT_DIR, outputHash, readStamp, sourcesHash, staleReason, writeStamp } from './build-stamp.mjs'
import { buildOrder, listWorkspaces } from './workspaces.mjs'

/**
 * Runs `npm run build` in a workspace, collecting its output (printed only
 * when it fails: many builds at once would interleave).
 *
 * @param {string} cwd
 * @returns {Promise<{ code: number, output: string }>}
 */
export function npmRunBuild (cwd) {
  return new Promise((resolve) => {
    let output = ''
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    child.on('error', (err) => { resolve({ code: 1, output: output + String(err) }) })
    child.on('close', (code) => { resolve({ code: code ?? 1, output }) })
  })
}

/**
 * The workspaces named (by package name or folder) and everything they
 * depend on, in build order; all of them when `targets` is empty.
 *
 * @param {import('./workspaces.mjs').Workspace[]} order
 * @param {string[] | undefined} targets
 */
export function selectTargets (order, targets) {
  if (targets == null || targets.length === 0) { return order }
  const byName = new Map(order.map(w => [w.name, w]))
  const wanted = new Set()
  const add = (w) => {
    if (wanted.has(w.name)) { return }
    wanted.add(w.name)
    for (const d of w.deps) { add(byName.get(d)) }
  }
  for (const t of targets) {
    const w = order.find(w => w.name === t || w.dir === t.replace(/\/+$/, ''))
    if (w == null) { throw new Error(`no workspace named ${t}`) }
    add(w)
  }
  return order.filter(w => wanted.has(w.name))
}

/**
 * @typedef {object} BuildResult
 * @property {string[]} built      names rebuilt
 * @property {string[]} current    names whose build was current
 * @property {string[]} failed     names whose build failed
 * @property {string[]} blocked    names not built because a dependency failed
 */

/**
 * @param {object} options
 * @param {string} options.root
 * @param {number} [options.jobs] - builds running at once (default 2)
 * @param {(line: string) => void} [options.log]
 * @param {(cwd: string) => Promise<{ code: number, output: string }>} [options.runBuild]
 * @param {boolean} [options.force] - rebuild everything
 * @param {string[]} [options.targets] - only these workspaces (names or folders) and what they depend on; default all
 * @returns {Promise<BuildResult>}
 */
export async function buildChanged ({ root, jobs = 2, log = () => {}, runBuild = npmRunBuild, force = false, targets }) {
  const order = selectTargets(buildOrder(listWorkspaces(root)), targets)
  const lock = lockDigest(root)
  const buildable = order.filter(w => typeof w.manifest.scripts?.build === 'string')
  const outputs = new Map() // name -> output hash, once done
  const result = { built: [], current: [], failed: [], blocked: [] }
  const running = new Set()
  const waiting = [...order]
  let started = 0

  const finish = (w, ok) => {
    if (ok) { outputs.set(w.name, outputHash(root, w.dir)) }
  }

  const check = async (w) => {
    if (w.deps.some(d => result.failed.includes(d) || result.blocked.includes(d))) {
      result.blocked.push(w.name)
      return
    }
    const deps = Object.fromEntries(w.deps.map(d => [d, outputs.get(d)]))
    if (typeof w.manifest.scripts?.build !== 'string') {
      finish(w, true)
      return
    }
    const index = ++started
    const inputs = inputFiles(root, w.dir)
    const now = { sources: sourcesHash(root, w.dir, lock, inputs), deps, outputs: outputHash(root, w.dir) }
    const stamp = readStamp(root, w.dir)
    const reason = force ? 'rebuild forced' : staleReason(stamp, now)
    if (reason == null) {
      result.current.push(w.name)
      finish(w, true)
      return
    }
    // an incremental tsc neither deletes stale outputs nor restores removed
    // ones: build from an empty dist, the old one kept aside until the build
    // succeeds (a failed build leaves the last dist, as tsc's noEmitOnError does)
    const clean = cleanReason(stamp, now, inputs, force)
    const out = join(root, w.dir, OUT_DIR)
    const aside = `${out}.x-previous-${process.pid}`
    const moved = clean != null && existsSync(out)
    if (moved) {
      rmSync(aside, { recursive: true, force: true })
      renameSync(out, aside)
    }
    log(`building ${w.name} (${index}/${buildable.length}): ${reason}${clean == null ? '' : ` (from an empty ${OUT_DIR}: ${clean})`}`)
    const t0 = Date.now()
    const { code, output } = await runBuild(join(root, w.dir))
    if (moved) {
      if (code !== 0) {
        rmSync(out, { recursive: true, force: true })
        renameSync(aside, out)
      } else {
        rmSync(aside, { recursive: true, force: true })
      }
    }
    if (code !== 0) {
      result.failed.push(w.name)
      log(`${w.name}: build failed (exit ${code}):\n${output.trimEnd()}`)
      return
    }
    // the sources hash taken before the build: a file edited during the build
    // does not match it, so the next run builds again
    writeStamp(root, w.dir, { sources: now.sources, deps, outputs: outputHash(root, w.dir), inputs })
    result.built.push(w.name)
    log(`built ${w.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    finish(w, true)
  }

  const done = new Set()
  while (waiting.length > 0 || running.size > 0) {
    for (let i = 0; i < waiting.length && running.size < Math.max(1, jobs);) {
      const w = waiting[i]
      if (w.deps.every(d => done.has(d))) {
        waiting.splice(i, 1)
        const p = check(w).finally(() => { done.add(w.name); running.delete(p) })
        running.add(p)
      } else {
        i++
      }
    }
    if (running.size > 0) { await Promise.race(running) }
  }

  return result
}
