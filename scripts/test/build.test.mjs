// The staleness rules of scripts/build.mjs, on a throw-away monorepo whose
// packages "build" with a small script that records every build.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { buildChanged } from '../lib/build-changed.mjs'

const BUILD_SCRIPT = fileURLToPath(new URL('../build.mjs', import.meta.url))

// dist/out.txt = own src files + each dependency's dist/out.txt; src containing FAIL fails
const FAKE_BUILD = `
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
appendFileSync(process.env.BUILD_LOG, pkg.name + '\\n')
let out = ''
for (const f of readdirSync('src').sort()) out += readFileSync('src/' + f, 'utf8')
if (out.includes('FAIL')) { console.error('fake build failed'); process.exit(1) }
for (const dep of Object.keys(pkg.dependencies ?? {})) {
  const p = 'node_modules/' + dep + '/dist/out.txt'
  if (existsSync(p)) out += readFileSync(p, 'utf8')
}
mkdirSync('dist', { recursive: true })
writeFileSync('dist/out.txt', out)
writeFileSync('dist/tsconfig.tsbuildinfo', String(Math.random()))
`

let root
let buildLog

const write = (rel, text) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true })
  writeFileSync(join(root, rel), text)
}

/**
 * a workspace at `dir` named `name`, depending on `deps`, linked into its node_modules like npm does
 *
 * @param {string} dir - the workspace folder, relative to the root
 * @param {string} name - its package name
 * @param {string[]} [deps] - names of the workspaces it depends on
 * @param {Record<string, unknown>} [extra] - more fields of its package.json
 */
const addPackage = (dir, name, deps = [], extra = {}) => {
  const depth = dir.split('/').length
  write(`${dir}/package.json`, JSON.stringify({
    name,
    scripts: { build: `node ${'../'.repeat(depth)}fake-build.mjs` },
    dependencies: Object.fromEntries(deps.map(d => [d, '*'])),
    ...extra
  }))
  write(`${dir}/tsconfig.json`, JSON.stringify({ extends: '../'.repeat(depth) + 'tsconfig.base.json', include: ['src', 'test'] }))
  write(`${dir}/src/index.ts`, `// ${name}\n`)
  write(`${dir}/test/index.spec.ts`, `// test of ${name}\n`)
  for (const d of deps) {
    const depDir = d.replace('@t/', 'packages/')
    mkdirSync(join(root, dir, 'node_modules', '@t'), { recursive: true })
    spawnSync('ln', ['-s', join(root, depDir), join(root, dir, 'node_modules', d)])
  }
}

const builds = () => {
  const text = readFileSync(buildLog, 'utf8')
  writeFileSync(buildLog, '')
  return text.split('\n').filter(Boolean)
}

// what `npm run build` runs, without npm's start-up (the command-line test goes through npm)
const fakeBuild = async (cwd) => {
  const r = spawnSync(process.execPath, [join(root, 'fake-build.mjs')], { cwd, encoding: 'utf8' })
  return { code: r.status ?? 1, output: r.stdout + r.stderr }
}

const run = async (targets) => {
  const lines = []
  const result = await buildChanged({ root, jobs: 2, log: (l) => lines.push(l), runBuild: fakeBuild, targets })
  return { ...result, lines, builds: builds() }
}

describe('scripts/build.mjs: build only what changed', () => {
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'x-build-test-'))
    buildLog = join(root, 'builds.log')
    process.env.BUILD_LOG = buildLog
    writeFileSync(buildLog, '')
    write('fake-build.mjs', FAKE_BUILD)
    write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*', 'apps/app'] }))
    write('package-lock.json', '{"lockfileVersion":3}\n')
    write('tsconfig.base.json', '{}\n')
    // declared out of dependency order on purpose
    addPackage('apps/app', '@t/app', ['@t/b'])
    addPackage('packages/b', '@t/b', ['@t/a'])
    addPackage('packages/a', '@t/a')
    write('packages/docs-only/package.json', JSON.stringify({ name: '@t/docs-only' }))
    const first = await run()
    assert.deepEqual(first.builds, ['@t/a', '@t/b', '@t/app'], 'first run builds everything, dependencies first')
  })

  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it('builds nothing when nothing changed', async () => {
    const r = await run()
    assert.deepEqual(r.builds, [])
    assert.deepEqual(r.current.sort(), ['@t/a', '@t/app', '@t/b'])
  })

  it('ignores a touch that leaves contents alone', async () => {
    const future = new Date(Date.now() + 60_000)
    utimesSync(join(root, 'packages/a/src/index.ts'), future, future)
    assert.deepEqual((await run()).builds, [])
  })

  it('rebuilds a changed package and every package whose dependency output changed', async () => {
    write('packages/a/src/index.ts', '// a, changed\n')
    const r = await run()
    assert.deepEqual(r.builds, ['@t/a', '@t/b', '@t/app'])
    assert.match(r.lines.join('\n'), /building @t\/b .*: @t\/a changed/)
  })

  it('rebuilds only the package when its output did not change', async () => {
    write('packages/b/test/index.spec.ts', '// another test\n')
    assert.deepEqual((await run()).builds, ['@t/b'])
  })

  it('counts a new source file, a deleted one and a new test file', async () => {
    write('packages/b/src/extra.ts', '// more\n')
    assert.deepEqual((await run()).builds, ['@t/b', '@t/app'])
    rmSync(join(root, 'packages/b/src/extra.ts'))
    assert.deepEqual((await run()).builds, ['@t/b', '@t/app'])
    write('packages/a/test/new.spec.ts', '// new\n')
    assert.deepEqual((await run()).builds, ['@t/a'])
  })

  it('rebuilds dependants when a dependency was rebuilt outside this script', async () => {
    write('packages/a/src/index.ts', '// a, changed and built by hand\n')
    await fakeBuild(join(root, 'packages/a'))
    builds()
    assert.deepEqual((await run()).builds, ['@t/a', '@t/b', '@t/app'])
  })

  it('rebuilds a package whose dist was changed or removed', async () => {
    write('packages/b/dist/out.txt', 'edited by hand')
    assert.deepEqual((await run()).builds, ['@t/b'], 'the rebuilt output equals the old one, so app stays')
    rmSync(join(root, 'packages/a/dist'), { recursive: true })
    assert.deepEqual((await run()).builds, ['@t/a'])
  })

  it('rebuilds everything when shared config or an installed package change', async () => {
    write('tsconfig.base.json', '{"compilerOptions":{}}\n')
    assert.deepEqual((await run()).builds, ['@t/a', '@t/b', '@t/app'])
    const lock = (packages) => write('package-lock.json', JSON.stringify({ lockfileVersion: 3, packages }, null, 2))
    lock({ '': { name: 'root' }, 'node_modules/typescript': { version: '5.9.2' } })
    assert.deepEqual((await run()).builds, ['@t/a', '@t/b', '@t/app'], 'a package installed')
    lock({ '': { name: 'root' }, 'node_modules/typescript': { version: '5.9.3' } })
    assert.deepEqual((await run()).builds, ['@t/a', '@t/b', '@t/app'], 'a package upgraded')
    // a new workspace, or a workspace's manifest entry: nothing installed changed
    lock({ '': { name: 'root', workspaces: ['x'] }, 'node_modules/typescript': { version: '5.9.3' }, 'node_modules/@t/new': { resolved: 'packages/new', link: true }, 'packages/new': { name: '@t/new' } })
    appendFileSync(join(root, 'package-lock.json'), '\n')
    assert.deepEqual((await run()).builds, [])
  })

  it('rebuilds on package.json and tsconfig.json changes, not on files outside the build', async () => {
    write('packages/a/README.md', '# a\n')
    assert.deepEqual((await run()).builds, [])
    write('packages/a/tsconfig.json', JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test'], compilerOptions: { strict: true } }))
    assert.deepEqual((await run()).builds, ['@t/a'])
  })

  it('counts every file of a workspace whose tsconfig it cannot read exactly', async () => {
    write('packages/a/tsconfig.json', '{ // a comment\n "include": ["src/**/*"] }')
    builds()
    await run()
    write('packages/a/notes.txt', 'anything')
    assert.deepEqual((await run()).builds, ['@t/a'])
  })

  it('picks up a new workspace from the root package.json', async () => {
    addPackage('packages/c', '@t/c', ['@t/a'])
    assert.deepEqual((await run()).builds, ['@t/c'])
    write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*', 'apps/app', 'tools/gen'] }))
    addPackage('tools/gen', '@t/gen', ['@t/c'])
    assert.deepEqual((await run()).builds, ['@t/gen'])
  })

  it('does not stamp a failed build, skips its dependants and retries it next time', async () => {
    write('packages/b/src/index.ts', 'FAIL\n')
    const r = await run()
    assert.deepEqual(r.builds, ['@t/b'])
    assert.deepEqual(r.failed, ['@t/b'])
    assert.deepEqual(r.blocked, ['@t/app'])
    assert.match(r.lines.join('\n'), /fake build failed/, 'the failed build output is shown')
    assert.deepEqual((await run()).builds, ['@t/b'], 'still stale')
    write('packages/b/src/index.ts', '// fixed\n')
    assert.deepEqual((await run()).builds, ['@t/b', '@t/app'])
  })

  it('builds only a named workspace and what it depends on', async () => {
    addPackage('packages/c', '@t/c', ['@t/a'])
    write('packages/a/src/index.ts', '// a, changed\n')
    assert.deepEqual((await run(['packages/b'])).builds, ['@t/a', '@t/b'], 'neither app (depends on b) nor c (not a dependency)')
    assert.deepEqual((await run(['@t/c'])).builds, ['@t/c'])
    await assert.rejects(run(['nope']), /no workspace named nope/)
  })

  it('a broken workspace outside the named ones does not stop them', async () => {
    addPackage('packages/c', '@t/c', ['@t/a'])
    write('packages/c/src/index.ts', 'FAIL\n')
    const r = await run(['apps/app'])
    assert.deepEqual(r.failed, [])
  })

  it('refuses a dependency cycle', async () => {
    addPackage('packages/c', '@t/c', ['@t/d'])
    addPackage('packages/d', '@t/d', ['@t/c'])
    await assert.rejects(run(), /dependency cycle between workspaces: @t\/c -> @t\/d -> @t\/c/)
  })

  it('the command line takes workspace names and --jobs', () => {
    write('packages/b/src/index.ts', 'FAIL\n')
    const only = spawnSync(process.execPath, [BUILD_SCRIPT, '--jobs', '1', 'packages/a'], { cwd: root, encoding: 'utf8' })
    assert.equal(only.status, 0, only.stderr)
    assert.match(only.stderr, /all 1 packages up to date/)
  })

  it('the command line exits 1 on a failed build and 0 when everything is current', () => {
    const ok = spawnSync(process.execPath, [BUILD_SCRIPT], { cwd: root, encoding: 'utf8' })
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stderr, /all 3 packages up to date/)
    write('packages/a/src/index.ts', 'FAIL\n')
    const failed = spawnSync(process.execPath, [BUILD_SCRIPT], { cwd: root, encoding: 'utf8' })
    assert.equal(failed.status, 1)
    assert.match(failed.stderr, /build failed: @t\/a; not built because of it: @t\/b, @t\/app/)
  })
})
