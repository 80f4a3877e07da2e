import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { expect } from 'aegir/chai'
import { findReadmes } from '../src/readmes.ts'
import { findRoot } from '../src/workspace.ts'

const root = findRoot()
const architecture = join(root, 'ARCHITECTURE.md')
const topLevel = readdirSync(root, { withFileTypes: true })
  .filter(e => e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.'))
  .map(e => e.name)

/** backticked repository paths: `packages/health/src/score.ts`, `interop/go-peer/` */
function namedPaths (text: string): string[] {
  const paths = new Set<string>()

  for (const [, token] of text.matchAll(/`([^`\s]+)`/g)) {
    if (topLevel.some(dir => token.startsWith(`${dir}/`))) {
      paths.add(token.replace(/[#:].*$/, ''))
    }
  }

  return [...paths]
}

/** a path, or a path whose last segment has `*` wildcards, names something that exists */
function exists (path: string): boolean {
  const slash = path.lastIndexOf('/')
  const last = path.slice(slash + 1)

  if (!last.includes('*')) {
    return existsSync(join(root, path))
  }

  const pattern = new RegExp(`^${last.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  const dir = join(root, path.slice(0, slash))
  return existsSync(dir) && readdirSync(dir).some(name => pattern.test(name))
}

/** relative link targets of a Markdown file, without anchors */
function relativeLinks (text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map(([, target]) => target)
    .filter(t => !/^[a-z]+:/i.test(t) && !t.startsWith('#'))
    .map(t => t.replace(/#.*$/, ''))
}

describe('the docs in the repository', () => {
  it('ARCHITECTURE.md exists and names the files that own each behaviour', () => {
    expect(existsSync(architecture), 'ARCHITECTURE.md').to.equal(true)
    expect(namedPaths(readFileSync(architecture, 'utf8'))).to.have.length.above(10)
  })

  it('every path ARCHITECTURE.md names exists', () => {
    const missing = namedPaths(readFileSync(architecture, 'utf8')).filter(p => !exists(p))
    expect(missing, 'moved or removed: update ARCHITECTURE.md').to.deep.equal([])
  })

  it('the top-level README points to ARCHITECTURE.md, not to a file outside the repository', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(readme).to.include('](ARCHITECTURE.md)')
    expect(relativeLinks(readme).filter(t => t.startsWith('..'))).to.deep.equal([])
  })

  it('the top-level README states the Node range of the root package.json engines', () => {
    const engines: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node
    expect(readFileSync(join(root, 'README.md'), 'utf8')).to.include(`\`${engines}\``)
  })

  it('the top-level README names every Debian package `npm test` installs as root (scripts/system-deps.sh)', () => {
    const script = readFileSync(join(root, 'scripts', 'system-deps.sh'), 'utf8')
    const packages = [...script.matchAll(/need\+=\(([^)]+)\)/g)].map(([, name]) => name.trim())
    const readme = readFileSync(join(root, 'README.md'), 'utf8')

    expect(packages).to.not.be.empty()
    expect(packages.filter(p => !readme.includes(`\`${p}\``))).to.deep.equal([])
  })

  it('every relative link of every README and ARCHITECTURE.md resolves', () => {
    const broken: string[] = []

    for (const file of findReadmes(root)) {
      for (const target of relativeLinks(readFileSync(join(root, file), 'utf8'))) {
        if (target !== '' && !existsSync(join(root, dirname(file), target))) {
          broken.push(`${file}: ${target}`)
        }
      }
    }

    expect(broken).to.deep.equal([])
  })
})
