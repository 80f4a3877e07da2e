/**
 * The README code blocks as programs of a user's project: where they are,
 * what they import, one file each, `tsc --noEmit` over all of them, and a
 * run of one.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { extractBlocks } from './markdown.ts'
import { cleanEnv } from './scratch.ts'
import type { CodeBlock } from './markdown.ts'

const execFileP = promisify(execFile)

/** a block that has not exited after this long fails (a node left running, an address off loopback) */
export const RUN_TIMEOUT = 60_000
/** output kept from one run */
export const MAX_OUTPUT = 64 * 1024
/** at most this long for one `tsc` over every block */
export const TYPECHECK_TIMEOUT = 10 * 60_000

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.tools', '.cache', '.docs', '.coverage', 'test-results'])
const DOCS = new Set(['README.md', 'ARCHITECTURE.md'])

/** README.md (and ARCHITECTURE.md) files of the repository, relative to it, the top-level one first */
export function findReadmes (root: string): string[] {
  const found: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && !SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
        walk(join(dir, entry.name))
      } else if (entry.isFile() && DOCS.has(entry.name)) {
        found.push(relative(root, join(dir, entry.name)))
      }
    }
  }
  walk(root)
  return found.sort((a, b) => Number(a.includes('/')) - Number(b.includes('/')) || a.localeCompare(b))
}

/** Every TypeScript block of the given Markdown files */
export function typescriptBlocks (root: string, files: string[]): CodeBlock[] {
  return files.flatMap(file => extractBlocks(file, readFileSync(join(root, file), 'utf8')))
    .filter(block => block.typescript)
}

/** `packages/health/README.md:27` */
export function blockTitle (block: CodeBlock): string {
  return `${block.file}:${block.line}`
}

/** A file name for the block in the scratch project */
export function blockFile (block: CodeBlock): string {
  return `${block.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${block.line}.ts`
}

export interface BlockSource {
  file: string
  text: string
  /** lines before the block's first line (the declarations a type-check-only marker gives) */
  offset: number
}

/** The block as a module of the scratch project (an ES module even without imports) */
export function blockSource (block: CodeBlock): BlockSource {
  const given = block.typeCheckOnly?.given ?? ''
  const prefix = given === '' ? '' : `${given}\n`
  return {
    file: blockFile(block),
    text: `${prefix}${block.code}\nexport {}\n`,
    offset: prefix === '' ? 0 : prefix.split('\n').length - 1
  }
}

/** Bare module specifiers (`@libp2p/tcp`, `libp2p`) a piece of code imports, as package names */
export function importedPackages (code: string): string[] {
  const names = new Set<string>()
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g]

  for (const pattern of patterns) {
    for (const [, specifier] of code.matchAll(pattern)) {
      if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) {
        continue
      }
      const parts = specifier.split('/')
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0])
    }
  }

  return [...names].sort()
}

export const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2023',
    // libp2p's types use DOM names (EventInit, AddEventListenerOptions, JsonWebKey)
    lib: ['es2024', 'dom'],
    types: ['node'],
    noEmit: true,
    // what Node's type stripping runs: `import type` for types, no enums or namespaces
    verbatimModuleSyntax: true,
    erasableSyntaxOnly: true,
    // our own .d.ts files are checked too; diagnostics in other packages' are reported apart
    skipLibCheck: false
  },
  include: ['*.ts']
}

export interface Diagnostic {
  /** the file, relative to the folder tsc ran in (or a node_modules path) */
  file: string
  line: number
  column: number
  code: string
  message: string
}

/** Writes the blocks into `dir` and runs `tsc --noEmit` there; returns every diagnostic */
export async function typecheck (scratch: string, dir: string, sources: BlockSource[]): Promise<Diagnostic[]> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2) + '\n')

  for (const source of sources) {
    writeFileSync(join(dir, source.file), source.text)
  }

  const tsc = join(scratch, 'node_modules', 'typescript', 'bin', 'tsc')

  if (!existsSync(tsc)) {
    throw new Error(`no typescript in ${scratch}`)
  }

  let output: string

  try {
    const { stdout } = await execFileP(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, timeout: TYPECHECK_TIMEOUT, maxBuffer: 64 * 1024 * 1024, env: cleanEnv() })
    output = stdout
  } catch (err: any) {
    if (err.stdout == null || err.stdout === '') {
      throw err
    }
    output = err.stdout
  }

  return parseDiagnostics(output)
}

export function parseDiagnostics (output: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = []

  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line)

    if (match != null) {
      diagnostics.push({ file: match[1], line: Number(match[2]), column: Number(match[3]), code: match[4], message: match[5] })
    } else if (diagnostics.length > 0 && /^\s/.test(line) && line.trim() !== '') {
      diagnostics[diagnostics.length - 1].message += `\n${line}`
    } else if (line.startsWith('error TS')) {
      diagnostics.push({ file: '', line: 0, column: 0, code: line.slice(6, line.indexOf(':')), message: line })
    }
  }

  return diagnostics
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  output: string
}

/** Runs one block file with this Node (type stripping), in `dir`, bounded by `timeout` */
export async function runBlock (dir: string, file: string, timeout = RUN_TIMEOUT): Promise<RunResult> {
  const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() })
  let output = ''
  const collect = (d: Buffer): void => {
    if (output.length < MAX_OUTPUT) {
      output += d.toString()
    }
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  let timedOut = false
  const guard = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeout)

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.on('close', (c, s) => { resolve([c, s]) }))
  clearTimeout(guard)
  return { code, signal, timedOut, output: output.slice(0, MAX_OUTPUT) }
}
