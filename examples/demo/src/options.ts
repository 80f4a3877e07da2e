/**
 * Command-line options of the demo.
 */
import { parseArgs } from 'node:util'

export interface DemoOptions {
  /** Nodes in the swarm (2..32) */
  nodes: number
  /** Stop after this many seconds; run until Ctrl-C when undefined */
  duration?: number
  /** Dashboard port; when taken, any free port is used */
  port: number
  /** Run the fault cycle on one link */
  faults: boolean
  /** Seconds between status tables */
  interval: number
}

export class InvalidDemoOptionError extends Error {
  static name = 'InvalidDemoOptionError'
  name = 'InvalidDemoOptionError'
}

export const DEFAULT_NODES = 6
export const DEFAULT_PORT = 8080
export const MAX_NODES = 32

function positive (name: string, value: string | undefined): number | undefined {
  if (value == null) {
    return undefined
  }

  const n = Number(value)

  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidDemoOptionError(`--${name} must be a positive number, got "${value}"`)
  }

  return n
}

export function parseDemoOptions (argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      duration: { type: 'string' },
      port: { type: 'string' },
      'no-faults': { type: 'boolean' },
      interval: { type: 'string' }
    },
    strict: true
  })

  const nodes = positive('nodes', values.nodes) ?? DEFAULT_NODES

  if (!Number.isInteger(nodes) || nodes < 2 || nodes > MAX_NODES) {
    throw new InvalidDemoOptionError(`--nodes must be an integer from 2 to ${MAX_NODES}, got "${values.nodes}"`)
  }

  const port = values.port == null ? DEFAULT_PORT : Number(values.port)

  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidDemoOptionError(`--port must be a TCP port (0 for any free one), got "${values.port}"`)
  }

  return {
    nodes,
    duration: positive('duration', values.duration),
    port,
    faults: values['no-faults'] !== true,
    interval: positive('interval', values.interval) ?? 3
  }
}
