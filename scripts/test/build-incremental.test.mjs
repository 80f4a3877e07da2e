// scripts/build.mjs against a build that behaves like `tsc` with
// "incremental": it re-emits only the sources whose contents changed since its
// .tsbuildinfo, never checks that its outputs still exist and never deletes
// the output of a deleted source. A rebuild must still leave a dist that
// matches the sources.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { buildChanged } from '../lib/build-changed.mjs'

// dist/<file>.js for each src/<file>, emitted only when src/<file> differs from what the build info recorded
const INCREMENTAL_BUILD = `
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
const infoFile = 'dist/tsconfig.tsbuildinfo'
const info = existsSync(infoFile) ? JSON.parse(readFileSync(infoFile, 'utf8')) : {}
if (readdirSync('src').some(f => readFileSync('src/' + f, 'utf8').includes('FAIL'))) { console.error('fake build failed'); process.exit(1) }
mkdirSync('dist', { recursive: true })
for (const f of readdirSync('src')) {
  const text = readFileSync('src/' + f, 'utf8')
  if (info[f] !== text) {
    writeFileSync('dist/' + f + '.js', text)
    info[f] = text
  }
}
writeFileSync(infoFile, JSON.stringify(info))
`

let root

const write = (rel, text) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true })
  writeFileSync(join(root, rel), text)
}

const incrementalBuild = async (cwd) => {
  const r = spawnSync(process.execPath, [join(root, 'incremental-build.mjs')], { cwd, encoding: 'utf8' })
  return { code: r.status ?? 1, output: r.stdout + r.stderr }
}

const run = (force = false) => buildChanged({ root, jobs: 1, runBuild: incrementalBuild, force })
const dist = (name) => join(root, 'packages/a/dist', name)

describe('scripts/build.mjs with an incremental build (tsc)', () => {
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'x-build-incremental-test-'))
    write('incremental-build.mjs', INCREMENTAL_BUILD)
    write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }))
    write('package-lock.json', '{"lockfileVersion":3}\n')
    write('packages/a/package.json', JSON.stringify({ name: '@t/a', scripts: { build: 'node ../../incremental-build.mjs' } }))
    write('packages/a/tsconfig.json', JSON.stringify({ include: ['src'] }))
    write('packages/a/src/index.ts', 'index\n')
    write('packages/a/src/extra.ts', 'extra\n')
    assert.deepEqual((await run()).built, ['@t/a'])
    assert.ok(existsSync(dist('extra.ts.js')))
  })

  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it('a deleted source leaves no output behind after the rebuild', async () => {
    rmSync(join(root, 'packages/a/src/extra.ts'))
    assert.deepEqual((await run()).built, ['@t/a'])
    assert.equal(existsSync(dist('extra.ts.js')), false, 'dist/extra.ts.js of the deleted src/extra.ts is still there')
    assert.equal(readFileSync(dist('index.ts.js'), 'utf8'), 'index\n')
  })

  it('a dist file removed or edited by hand is restored by the rebuild, which then stays current', async () => {
    rmSync(dist('index.ts.js'))
    write('packages/a/dist/extra.ts.js', 'edited by hand')
    assert.deepEqual((await run()).built, ['@t/a'])
    assert.equal(existsSync(dist('index.ts.js')), true, 'the rebuild did not restore dist/index.ts.js')
    assert.equal(readFileSync(dist('extra.ts.js'), 'utf8'), 'extra\n')
    assert.deepEqual((await run()).built, [])
  })

  it('a build that fails after starting from an empty dist puts the previous dist back', async () => {
    rmSync(dist('.x-build-stamp.json'))
    write('packages/a/src/index.ts', 'FAIL\n')
    const r = await run()
    assert.deepEqual(r.failed, ['@t/a'])
    assert.equal(readFileSync(dist('index.ts.js'), 'utf8'), 'index\n', 'the last good dist is gone')
    assert.deepEqual(readdirSync(join(root, 'packages/a')).sort(), ['dist', 'package.json', 'src', 'tsconfig.json'], 'nothing left beside it')
    write('packages/a/src/index.ts', 'fixed\n')
    assert.deepEqual((await run()).built, ['@t/a'])
    assert.equal(readFileSync(dist('index.ts.js'), 'utf8'), 'fixed\n')
  })

  it('--force rebuilds every output', async () => {
    write('packages/a/dist/index.ts.js', 'edited by hand')
    assert.deepEqual((await run(true)).built, ['@t/a'])
    assert.equal(readFileSync(dist('index.ts.js'), 'utf8'), 'index\n')
  })
})

describe('scripts/build.mjs run twice at the same time', () => {
  let log

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'x-build-concurrent-test-'))
    log = join(root, 'builds.log')
    // a slow build that logs each start
    write('slow-build.mjs', `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'\nappendFileSync(${JSON.stringify(log)}, 'build\\n')\nawait new Promise(resolve => setTimeout(resolve, 1500))\nmkdirSync('dist', { recursive: true })\nwriteFileSync('dist/out.js', 'out')\n`)
    write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }))
    write('package-lock.json', '{"lockfileVersion":3}\n')
    write('packages/a/package.json', JSON.stringify({ name: '@t/a', scripts: { build: 'node ../../slow-build.mjs' } }))
    write('packages/a/tsconfig.json', JSON.stringify({ include: ['src'] }))
    write('packages/a/src/index.ts', 'index\n')
    writeFileSync(log, '')
  })

  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it('the second waits for the first and then finds the package current (one build, never two in one dist)', async () => {
    const script = fileURLToPath(new URL('../build.mjs', import.meta.url))
    const start = () => new Promise(resolve => {
      const child = spawn(process.execPath, [script], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', d => { stderr += d })
      child.on('close', code => { resolve({ code, stderr }) })
    })
    const [first, second] = await Promise.all([start(), start()])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(second.code, 0, second.stderr)
    assert.deepEqual(readFileSync(log, 'utf8').split('\n').filter(Boolean), ['build'], 'both runs built the package at the same time')
    assert.equal(existsSync(join(root, '.cache/x-build.lock')), false, 'the lock is released')
  })

  it('takes over a lock left by a run that is gone', () => {
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
    write('.cache/x-build.lock', gone.stdout.trim())
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../build.mjs', import.meta.url))], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(readFileSync(log, 'utf8').split('\n').filter(Boolean), ['build'])
  })
})
