/**
 * The service alone is light: it needs libp2p's interfaces and helpers that
 * `libp2p` itself depends on (so it adds nothing to an application that has
 * libp2p), plus `@x/interface` (types and constants). No transport, no
 * other service, no `@x/pubsub-peer-discovery`: those are in
 * `@x/connectivity-presets`.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const root = process.cwd()
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
// libp2p's package.json is not exported: find it next to its entry point
const libp2pDir = dirname(dirname(dirname(fileURLToPath(import.meta.resolve('libp2p')))))
const libp2pDeps = Object.keys(JSON.parse(readFileSync(join(libp2pDir, 'package.json'), 'utf8')).dependencies)

describe('dependencies', () => {
  it('depends only on what libp2p itself depends on, and @x/interface', () => {
    const extra = Object.keys(pkg.dependencies ?? {}).filter(name => name !== '@x/interface' && !libp2pDeps.includes(name))
    expect(extra).to.deep.equal([])
  })

  it('no source file imports another @x service or a libp2p service or transport', () => {
    for (const file of readdirSync(join(root, 'src')).filter(f => f.endsWith('.ts'))) {
      const source = readFileSync(join(root, 'src', file), 'utf8')
      const imports = [...source.matchAll(/^import .* from '([^']+)'/gm)].map(m => m[1]).filter(spec => !spec.startsWith('.'))
      for (const spec of imports) {
        expect(spec === '@x/interface' || libp2pDeps.includes(spec), `${file} imports ${spec}`).to.be.true()
      }
    }
  })
})
