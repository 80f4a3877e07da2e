/**
 * Fenced code blocks of a Markdown file, with the `readme-check` marker that
 * may precede one.
 *
 * A TypeScript block (fence language `TypeScript`, `typescript` or `ts`) is
 * type-checked and run. One that cannot run on its own (a fragment, or a
 * program that needs a remote peer) says so in an HTML comment right before
 * its fence; the lines after the first are TypeScript put before the block
 * when it is type-checked (declarations of what the fragment assumes):
 *
 * ```markdown
 * <!-- readme-check: type-check only: it needs a remote peer
 * import type { PeerId } from '@libp2p/interface'
 * declare const remotePeerId: PeerId
 * -->
 * ```
 *
 * Other fence languages (`console`, `sh`, `protobuf`, none) are not checked.
 */

export const TYPESCRIPT_LANGUAGES = new Set(['typescript', 'ts'])
export const MARKER = 'readme-check:'

export interface CodeBlock {
  /** the Markdown file, as given */
  file: string
  /** 1-based line of the opening fence */
  line: number
  /** the fence language as written (`TypeScript`), '' when none */
  lang: string
  code: string
  /** true when the fence language is TypeScript */
  typescript: boolean
  /** set by a `readme-check: type-check only: <reason>` marker */
  typeCheckOnly?: { reason: string, given: string }
  /** a marker that could not be read */
  markerError?: string
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/

export function extractBlocks (file: string, text: string): CodeBlock[] {
  const lines = text.split(/\r?\n/)
  const blocks: CodeBlock[] = []

  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i])

    if (open == null) {
      continue
    }

    const fence = open[1]
    const lang = open[2]
    const body: string[] = []
    let j = i + 1

    while (j < lines.length && !(lines[j].trim().startsWith(fence[0].repeat(fence.length)) && lines[j].trim().replace(/[`~]/g, '') === '')) {
      body.push(lines[j])
      j++
    }

    const block: CodeBlock = {
      file,
      line: i + 1,
      lang,
      code: body.join('\n'),
      typescript: TYPESCRIPT_LANGUAGES.has(lang.toLowerCase())
    }

    readMarker(lines, i, block)

    if (block.typescript && block.markerError == null) {
      block.markerError = checkingOff(block.code, 'the block')
    }

    blocks.push(block)
    i = j
  }

  return blocks
}

/** Reads the HTML comment that ends on the last non-blank line before the fence at `fenceIndex` */
function readMarker (lines: string[], fenceIndex: number, block: CodeBlock): void {
  let end = fenceIndex - 1

  while (end >= 0 && lines[end].trim() === '') {
    end--
  }

  if (end < 0 || !lines[end].trim().endsWith('-->')) {
    return
  }

  let start = end

  while (start >= 0 && !lines[start].includes('<!--')) {
    start--
  }

  if (start < 0) {
    return
  }

  const comment = lines.slice(start, end + 1).join('\n')
  const inner = comment.slice(comment.indexOf('<!--') + 4, comment.lastIndexOf('-->'))
  const [first, ...rest] = inner.split('\n')
  const head = first.trim()

  if (!head.startsWith(MARKER)) {
    return
  }

  const directive = /^readme-check:\s*type-check only\s*[:\-–—(]\s*(.+?)\)?$/.exec(head)

  if (directive == null) {
    block.markerError = `unknown marker "${head}": write "<!-- readme-check: type-check only: <why it cannot run> -->"`
    return
  }

  block.typeCheckOnly = { reason: directive[1].trim(), given: rest.join('\n').trim() }
  block.markerError = checkingOff(block.typeCheckOnly.given, 'its marker') ??
    (/\bany\b/.test(block.typeCheckOnly.given) ? 'its marker declares something as `any`, which would type-check any use of it: give the real type' : undefined)
}

/** A comment directive that would hide type errors (`@ts-nocheck` before the block hides all of them) */
function checkingOff (code: string, where: string): string | undefined {
  const directive = /@ts-(nocheck|ignore|expect-error)\b/.exec(code)?.[0]
  return directive == null ? undefined : `${where} has ${directive}, which hides type errors: a README example must type-check as it is`
}
