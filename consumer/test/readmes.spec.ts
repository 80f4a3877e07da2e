import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { ensureBuilt, pack } from '../src/pack.ts'
import { installedVersion, workspaceRange } from '../src/ranges.ts'
import { blockSource, blockTitle, findReadmes, importedPackages, runBlock, RUN_TIMEOUT, typecheck, TYPECHECK_TIMEOUT, typescriptBlocks } from '../src/readmes.ts'
import { INSTALL_TIMEOUT, prepareScratch } from '../src/scratch.ts'
import { findRoot, isPublishable, listWorkspaces } from '../src/workspace.ts'
import type { CodeBlock } from '../src/markdown.ts'
import type { BlockSource, Diagnostic } from '../src/readmes.ts'

const root = findRoot()
const workspaces = listWorkspaces(root)
const readmes = findReadmes(root)
const blocks = typescriptBlocks(root, readmes)
const sources = blocks.map(blockSource)

function format (d: Diagnostic, file: string, line: number): string {
  return `${file}:${line}:${d.column} ${d.code} ${d.message}`
}

/** tsc's errors in a block's file, at their lines in the README */
function blockErrors (block: CodeBlock, source: BlockSource, diagnostics: Diagnostic[]): string {
  return diagnostics
    .filter(d => d.file === source.file)
    .map(d => d.line > source.offset
      ? format(d, block.file, block.line + d.line - source.offset)
      : format(d, `${block.file} (marker before line ${block.line})`, d.line))
    .join('\n')
}

describe(`README TypeScript blocks, installed from the packed tarballs outside the workspace (Node ${process.versions.node})`, function () {
  let runDir = ''
  let diagnostics: Diagnostic[] = []

  before(async function () {
    this.timeout(INSTALL_TIMEOUT + TYPECHECK_TIMEOUT)

    const imported = new Set(sources.flatMap(s => importedPackages(s.text)))
    // every published package, and any other workspace a README imports
    const ours = workspaces.filter(ws => isPublishable(ws) || imported.has(ws.manifest.name))
    const tarballs = []
    await ensureBuilt(root, ours)

    for (const ws of ours) {
      tarballs.push(await pack(ws))
    }

    const names = new Set(ours.map(ws => ws.manifest.name))
    const dependencies: Record<string, string> = {
      typescript: installedVersion(root, 'typescript'),
      '@types/node': installedVersion(root, '@types/node')
    }
    const unknown: string[] = []

    for (const name of imported) {
      if (names.has(name)) {
        continue
      }

      const range = workspaceRange(name, workspaces)

      if (range == null) {
        unknown.push(name)
      } else {
        dependencies[name] = range
      }
    }

    if (unknown.length > 0) {
      throw new Error(`the READMEs import ${unknown.join(', ')}, which no workspace depends on: add it where the example belongs, so its version is known`)
    }

    const scratch = await prepareScratch({ name: 'readmes', tarballs, dependencies })
    runDir = mkdtempSync(join(scratch.dir, 'run-'))
    diagnostics = await typecheck(scratch.dir, runDir, sources)
  })

  after(() => {
    if (runDir !== '') {
      rmSync(runDir, { recursive: true, force: true })
    }
  })

  it('reads the top-level README and every package README', () => {
    expect(readmes).to.include('README.md')

    for (const ws of workspaces.filter(isPublishable)) {
      expect(readmes).to.include(`${ws.dir}/README.md`)
    }

    expect(blocks.filter(b => b.file === 'README.md')).to.not.be.empty()
  })

  it('every published package imports in that project (ES module, every export defined)', async function () {
    this.timeout(RUN_TIMEOUT)
    const failed: string[] = []

    for (const ws of workspaces.filter(isPublishable)) {
      const file = join(runDir, `import-${ws.manifest.name.replace(/[^a-z0-9]+/gi, '-')}.mjs`)
      writeFileSync(file, `const mod = await import('${ws.manifest.name}')\nconst undef = Object.entries(mod).filter(([, v]) => v === undefined).map(([k]) => k)\nif (Object.keys(mod).length === 0 || undef.length > 0) { throw new Error('exports: ' + Object.keys(mod).join(', ') + '; undefined: ' + undef.join(', ')) }\n`)
      const result = await runBlock(runDir, file)

      if (result.code !== 0) {
        failed.push(`${ws.manifest.name}: ${result.timedOut ? 'timed out' : result.output}`)
      }
    }

    expect(failed.join('\n')).to.equal('')
  })

  it('our packages\' type declarations type-check in a strict nodenext project', () => {
    const ours = diagnostics.filter(d => d.file.includes('node_modules/@x/'))
    expect(ours.map(d => format(d, d.file, d.line)).join('\n')).to.equal('')
  })

  it('tsc reports no error outside a file (a broken project would hide every block\'s errors)', () => {
    const global = diagnostics.filter(d => d.file === '')
    expect(global.map(d => `${d.code} ${d.message}`).join('\n')).to.equal('')

    // other packages' declarations are theirs to fix: shown, not failed
    const blockFiles = new Set(sources.map(s => s.file))
    const theirs = diagnostics.filter(d => d.file !== '' && !blockFiles.has(d.file) && !d.file.includes('node_modules/@x/'))
    if (theirs.length > 0) {
      process.stdout.write(`      note: tsc (skipLibCheck: false) reports ${theirs.length} error(s) in other packages' declarations, e.g. ${format(theirs[0], theirs[0].file, theirs[0].line)}\n`)
    }
  })

  blocks.forEach((block, i) => {
    const source = sources[i]

    describe(blockTitle(block), () => {
      if (block.markerError != null) {
        it('has a readable readme-check marker and nothing that turns type-checking off', () => {
          expect.fail(block.markerError)
        })
      }

      it(block.typeCheckOnly == null ? 'type-checks' : `type-checks, with the declarations its marker gives (not run: ${block.typeCheckOnly.reason})`, () => {
        expect(blockErrors(block, source, diagnostics)).to.equal('')
      })

      if (block.typeCheckOnly == null) {
        it('runs on loopback and exits 0', async function () {
          this.timeout(RUN_TIMEOUT + 10_000)
          const result = await runBlock(runDir, source.file)
          const why = result.timedOut
            ? `did not exit within ${RUN_TIMEOUT / 1000} s (a node left running, or a remote address that is not on loopback?)`
            : `exited with ${result.code ?? result.signal}`
          expect(result.timedOut === false && result.code === 0, `${blockTitle(block)} ${why}; its output:\n${result.output}`).to.equal(true)
        })
      }
    })
  })
})
