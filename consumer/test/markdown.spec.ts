import { expect } from 'aegir/chai'
import { extractBlocks } from '../src/markdown.ts'
import { blockSource, importedPackages, parseDiagnostics } from '../src/readmes.ts'

const FENCE = '```'

describe('README blocks as the consumer test reads them', () => {
  it('finds TypeScript blocks under any of its fence names, with the line of each fence', () => {
    const text = ['# x', `${FENCE}TypeScript`, 'const a = 1', FENCE, '', `${FENCE}ts`, 'const b = 2', FENCE, `${FENCE}typescript`, FENCE].join('\n')
    const blocks = extractBlocks('README.md', text)

    expect(blocks.map(b => [b.line, b.typescript, b.code])).to.deep.equal([[2, true, 'const a = 1'], [6, true, 'const b = 2'], [9, true, '']])
  })

  it('leaves console, sh, protobuf and unnamed blocks out of TypeScript', () => {
    const text = [`${FENCE}console`, 'npm test', FENCE, `${FENCE}sh`, 'ls', FENCE, `${FENCE}protobuf`, 'message A {}', FENCE, FENCE, 'plain', FENCE].join('\n')
    expect(extractBlocks('README.md', text).map(b => b.typescript)).to.deep.equal([false, false, false, false])
  })

  it('keeps a longer fence open across a shorter one inside it', () => {
    const text = ['````markdown', `${FENCE}TypeScript`, 'const inner = 1', FENCE, '````', `${FENCE}TypeScript`, 'const outer = 2', FENCE].join('\n')
    const blocks = extractBlocks('README.md', text)

    expect(blocks.map(b => b.lang)).to.deep.equal(['markdown', 'TypeScript'])
    expect(blocks[1].code).to.equal('const outer = 2')
  })

  it('reads a type-check-only marker right before the fence: its reason and the declarations it gives', () => {
    const text = [
      '<!-- readme-check: type-check only: it needs a remote peer',
      "import type { PeerId } from '@libp2p/interface'",
      'declare const remotePeerId: PeerId',
      '-->',
      '',
      `${FENCE}TypeScript`,
      'console.info(remotePeerId)',
      FENCE
    ].join('\n')
    const [block] = extractBlocks('README.md', text)

    expect(block.typeCheckOnly?.reason).to.equal('it needs a remote peer')
    expect(block.typeCheckOnly?.given).to.equal("import type { PeerId } from '@libp2p/interface'\ndeclare const remotePeerId: PeerId")

    const source = blockSource(block)
    expect(source.offset).to.equal(2)
    expect(source.text.split('\n')[2]).to.equal('console.info(remotePeerId)')
  })

  it('a marker must give a reason; an unknown one is reported, not ignored', () => {
    const noReason = extractBlocks('README.md', ['<!-- readme-check: type-check only -->', `${FENCE}ts`, 'x', FENCE].join('\n'))
    const unknown = extractBlocks('README.md', ['<!-- readme-check: skip -->', `${FENCE}ts`, 'x', FENCE].join('\n'))

    expect(noReason[0].typeCheckOnly).to.equal(undefined)
    expect(noReason[0].markerError).to.be.a('string')
    expect(unknown[0].markerError).to.include('unknown marker')
  })

  it('neither a marker nor a block can turn type-checking off (@ts-nocheck, @ts-ignore, @ts-expect-error, `any` in the declarations given)', () => {
    const marked = (given: string, code = 'node.start()'): ReturnType<typeof extractBlocks>[number] =>
      extractBlocks('README.md', ['<!-- readme-check: type-check only: a fragment', given, '-->', `${FENCE}ts`, code, FENCE].join('\n'))[0]

    expect(marked('// @ts-nocheck\nimport type { Libp2p } from \'libp2p\'\ndeclare const node: Libp2p').markerError).to.include('@ts-nocheck')
    expect(marked('declare const node: any').markerError).to.include('any')
    expect(marked('declare const node: Record<string, any>').markerError).to.include('any')
    expect(marked('import type { Libp2p } from \'libp2p\'\ndeclare const node: Libp2p', '// @ts-ignore\nnode.nope()').markerError).to.include('@ts-ignore')
    expect(extractBlocks('README.md', [`${FENCE}ts`, '// @ts-expect-error: wrong on purpose', 'const a: number = \'a\'', FENCE].join('\n'))[0].markerError).to.include('@ts-expect-error')
    // a plain fragment is still fine
    expect(marked('import type { Libp2p } from \'libp2p\'\ndeclare const node: Libp2p').markerError).to.equal(undefined)
    // and a console block may say anything
    expect(extractBlocks('README.md', [`${FENCE}console`, '// @ts-ignore', FENCE].join('\n'))[0].markerError).to.equal(undefined)
  })

  it('an HTML comment that is not a marker, or one further up, changes nothing', () => {
    const blocks = extractBlocks('README.md', ['<!-- a note -->', `${FENCE}ts`, 'x', FENCE, '<!-- readme-check: type-check only: far away -->', 'text', `${FENCE}ts`, 'y', FENCE].join('\n'))
    expect(blocks.map(b => [b.typeCheckOnly, b.markerError])).to.deep.equal([[undefined, undefined], [undefined, undefined]])
  })

  it('names the packages a block imports, not builtins or relative files', () => {
    const code = [
      "import { tcp } from '@libp2p/tcp'",
      "import { createLibp2p } from 'libp2p'",
      "import type { Multiaddr } from '@multiformats/multiaddr'",
      "import { join } from 'node:path'",
      "import { readFileSync } from 'fs'",
      "import './side-effect.js'",
      "import 'uint8arrays/from-string'",
      "const m = await import('@x/health')"
    ].join('\n')

    expect(importedPackages(code)).to.deep.equal(['@libp2p/tcp', '@multiformats/multiaddr', '@x/health', 'libp2p', 'uint8arrays'])
  })

  it('reads tsc diagnostics, continuation lines and errors without a file', () => {
    const output = [
      "README-L3.ts(4,7): error TS2304: Cannot find name 'x'.",
      "../node_modules/a/index.d.ts(1,2): error TS2344: Type 'A' does not satisfy 'B'.",
      "  Types of property 'c' are incompatible.",
      "error TS5023: Unknown compiler option 'nope'."
    ].join('\n')

    expect(parseDiagnostics(output)).to.deep.equal([
      { file: 'README-L3.ts', line: 4, column: 7, code: 'TS2304', message: "Cannot find name 'x'." },
      { file: '../node_modules/a/index.d.ts', line: 1, column: 2, code: 'TS2344', message: "Type 'A' does not satisfy 'B'.\n  Types of property 'c' are incompatible." },
      { file: '', line: 0, column: 0, code: 'TS5023', message: "error TS5023: Unknown compiler option 'nope'." }
    ])
  })
})
