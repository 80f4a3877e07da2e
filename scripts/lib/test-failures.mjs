// Reads the failed tests out of a test run's output (ANSI colours already
// stripped): mocha's spec reporter (what aegir prints) and node:test's spec
// reporter. scripts/test-all.mjs prints them after its table, so the tail of
// a CI log names what failed. Dependency-free.

/** At most this many characters of an error's first line, and of a test's full title, are kept */
export const MAX_ERROR_LENGTH = 500

/**
 * @typedef {object} FailedTest
 * @property {string} title  the full title: suites and test joined by " > " (node:test: file:line and the test's name)
 * @property {string} error  the first line of its error
 */

const clip = (s) => s.length > MAX_ERROR_LENGTH ? `${s.slice(0, MAX_ERROR_LENGTH)}…` : s

/**
 * mocha prints, after "N failing", N blocks of this shape (the title path one
 * element a line, each indented two more than the one before, the last ending
 * in ":", then the error, indented less):
 *
 * ```text
 *   1) outer suite
 *        inner suite
 *          test title:
 *      Error: message
 * ```
 *
 * @param {string[]} lines
 * @returns {FailedTest[]}
 */
function mochaFailures (lines) {
  const failures = []

  for (let i = 0; i < lines.length; i++) {
    const summary = /^\s*(\d+) failing$/.exec(lines[i])

    if (summary == null) { continue }

    const count = Number(summary[1])
    let next = 1

    // the blocks numbered 1..count, in order; anything else between them is an error's stack
    for (i++; i < lines.length && next <= count; i++) {
      const start = new RegExp(`^  ${next}\\) (.*)$`).exec(lines[i])

      if (start == null) { continue }

      const path = [start[1]]
      let j = i + 1

      // a title line is indented exactly 2 more than the one before it; the error is not
      while (j < lines.length && lines[j].startsWith(' '.repeat(5 + 2 * path.length)) && lines[j][5 + 2 * path.length] !== ' ') {
        path.push(lines[j].trim())
        j++
      }

      path[path.length - 1] = path[path.length - 1].replace(/:$/, '')

      while (j < lines.length && lines[j].trim() === '') { j++ }

      failures.push({ title: clip(path.join(' > ')), error: clip(lines[j]?.trim() ?? '') })
      next++
      i = j
    }

    i--
  }

  return failures
}

/**
 * node:test's spec reporter ends with "✖ failing tests:" and blocks of
 *
 * ```text
 *   test at file.test.mjs:12:3
 *   ✖ test title (1.2ms)
 *     Error: message
 * ```
 *
 * @param {string[]} lines
 * @returns {FailedTest[]}
 */
function nodeTestFailures (lines) {
  const failures = []
  let listing = false

  for (let i = 0; i < lines.length; i++) {
    if (/^✖ failing tests:$/.test(lines[i])) {
      listing = true
      continue
    }

    const at = listing ? /^test at (.+)$/.exec(lines[i]) : null
    const name = at == null ? null : /^✖ (.*?)(?: \([\d.]+m?s\))?$/.exec(lines[i + 1] ?? '')

    if (at == null || name == null) { continue }

    const file = at[1].replace(/^.*\//, '')
    failures.push({ title: clip(`${file} ${name[1]}`), error: clip((lines[i + 2] ?? '').trim()) })
    i += 2
  }

  return failures
}

/**
 * @param {string} text - the output of one test command, colours stripped
 * @returns {FailedTest[]}
 */
export function failedTests (text) {
  const lines = text.split(/\r?\n/)
  return [...mochaFailures(lines), ...nodeTestFailures(lines)]
}

/**
 * The last non-empty line of `text`, clipped
 *
 * @param {string} text - the output of one test command, colours stripped
 * @returns {string}
 */
export function lastLine (text) {
  const lines = text.split(/\r?\n/).map(l => l.trim()).filter(Boolean)
  return clip(lines[lines.length - 1] ?? '(no output)')
}
