/**
 * Command-line options of the demo.
 */
import { parseArgs } from 'node:util'

export interface DemoOptions {
  /** Stop after this many seconds; run until Ctrl-C when undefined */
  duration?: number
  /** Seconds between status lines */
  interval: number
}

export class InvalidDemoOptionError extends Error {
  static name = 'InvalidDemoOptionError'
  name = 'InvalidDemoOptionError'
}

function positive (name: string, value: string | undefined): number | undefined {
  if (value == null) {
    return undefined
  }

  const n = Number(value)

  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidDemoOptionError(`--${name} must be a positive number of seconds, got "${value}"`)
  }

  return n
}

export function parseDemoOptions (argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      interval: { type: 'string' }
    },
    strict: true
  })

  return {
    duration: positive('duration', values.duration),
    interval: positive('interval', values.interval) ?? 2
  }
}
