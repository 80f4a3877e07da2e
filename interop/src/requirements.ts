/**
 * What the interop and lab specs need from the machine, and what happens when
 * it is missing: on CI (or with X_REQUIRE_INTEROP=1) a missing Go toolchain or
 * root fails the run; elsewhere the specs are skipped with a loud notice, so
 * a contributor without Go can still run every other test.
 */
import { execFileSync } from 'node:child_process'

export class InteropRequirementError extends Error {
  static name = 'InteropRequirementError'
  name = 'InteropRequirementError'
}

/** True when interop and lab specs must run for real */
export function interopRequired (): boolean {
  return process.env.X_REQUIRE_INTEROP === '1' || (process.env.CI != null && process.env.CI !== '' && process.env.CI !== 'false')
}

/** Why Go cannot be used, or undefined when it can */
export function goMissingReason (): string | undefined {
  try {
    const version = execFileSync('go', ['version'], { encoding: 'utf8' })
    const match = version.match(/go(\d+)\.(\d+)/)

    if (match == null || Number(match[1]) < 1 || (Number(match[1]) === 1 && Number(match[2]) < 25)) {
      return `Go 1.25 or newer is needed, found: ${version.trim()}`
    }

    return undefined
  } catch (err: any) {
    return `the Go toolchain is not on PATH (${err.code ?? err.message})`
  }
}

/** Why network namespaces cannot be used, or undefined when they can */
export function rootMissingReason (): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'network-namespace tests need root'
  }

  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
  } catch {
    return 'the `ip` command (iproute2) cannot list network namespaces'
  }

  return undefined
}

/**
 * Call in a `before` hook: throws on CI, otherwise prints why and skips the
 * suite.
 */
export function requireOrSkip (ctx: Mocha.Context, what: string, reason: string | undefined): void {
  if (reason == null) {
    return
  }

  if (interopRequired()) {
    throw new InteropRequirementError(`${what} are required here (CI or X_REQUIRE_INTEROP=1) but cannot run: ${reason}`)
  }

  process.stderr.write(`\n\x1b[1;33m!!! SKIPPED: ${what} - ${reason}\x1b[0m\n\n`)
  ctx.skip()
}
