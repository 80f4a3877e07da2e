// `node scripts/build.mjs [--force] [--jobs N] [workspace...]`: builds only
// the workspaces whose sources, config or dependencies' output changed since
// their last build (scripts/lib/build-stamp.mjs says exactly what counts),
// dependencies first, and prints what it builds and why. Named workspaces
// (package name or folder): only those and what they depend on. Exit 1 when
// a build fails. scripts/run.sh runs it before `npm start` (the demo and its
// dependencies), `npm test` and `npm run bench` (everything). One run at a
// time per checkout: a second one waits (scripts/lib/build-lock.mjs).
import { availableParallelism } from 'node:os'
import { buildChanged } from './lib/build-changed.mjs'
import { acquireBuildLock } from './lib/build-lock.mjs'

const args = process.argv.slice(2)
const jobsArg = args.indexOf('--jobs')
const targets = args.filter((a, i) => !a.startsWith('--') && !(jobsArg >= 0 && i === jobsArg + 1))
const jobs = jobsArg >= 0 ? Number(args[jobsArg + 1]) : Number(process.env.X_BUILD_JOBS ?? Math.min(2, availableParallelism()))

if (!Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write('x: --jobs (or X_BUILD_JOBS) must be a positive integer\n')
  process.exit(2)
}

const t0 = Date.now()
const log = (line) => { process.stderr.write(`x: ${line}\n`) }
// one build at a time per checkout (scripts/lib/build-lock.mjs); released at exit
await acquireBuildLock(process.cwd(), log)
const { built, current, failed, blocked } = await buildChanged({ root: process.cwd(), jobs, log, force: args.includes('--force'), targets })
const seconds = ((Date.now() - t0) / 1000).toFixed(1)

if (failed.length > 0) {
  log(`build failed: ${failed.join(', ')}; not built because of it: ${blocked.join(', ') || 'none'} (${built.length} built, ${current.length} up to date, ${seconds} s)`)
  process.exit(1)
}

log(built.length === 0
  ? `all ${current.length} packages up to date (${seconds} s)`
  : `built ${built.length}, ${current.length} up to date (${seconds} s)`)
