/**
 * Validates `ConnectionHealthInit` and resolves its defaults.
 */
import { PING_PROTOCOL } from '@libp2p/ping'
import * as C from './constants.ts'
import { InvalidHealthOptionError } from './errors.ts'
import { TimerLoopLag } from './loop-lag.ts'
import type { ConnectionHealthInit, HealthWeights, ProbeMode } from './index.ts'
import type { LoopLag } from './loop-lag.ts'

export interface ResolvedHealthOptions {
  probe: ProbeMode
  /** `/<protocolPrefix>/ping/1.0.0` */
  pingProtocol: string
  metricsPrefix: string
  checkInterval: number
  checkJitter: number
  pingTimeout: number
  maxConcurrentProbes: number
  minHealthThreshold: number
  minConnectionsPerPeer: number
  maxPingLatency: number
  minPingSuccessRate: number
  maxFailedStreams: number
  unhealthyChecksBeforeReplace: number
  replaceUnhealthy: boolean
  replaceGrace: number
  protectedTag: string
  minTimeout: number
  maxTimeout: number
  weights: Required<HealthWeights>
  loopLag: LoopLag
}

function number (name: string, value: number | undefined, fallback: number, min: number, max = Infinity, integer = false): number {
  const resolved = value ?? fallback

  if (!Number.isFinite(resolved) || resolved < min || resolved > max || (integer && !Number.isInteger(resolved))) {
    throw new InvalidHealthOptionError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${value}`)
  }

  return resolved
}

export function resolveWeights (weights: HealthWeights = {}): Required<HealthWeights> {
  const raw = { ...C.DEFAULT_WEIGHTS, ...weights }

  for (const [name, value] of Object.entries(raw)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidHealthOptionError(`weights.${name} must be a number >= 0, got ${value}`)
    }
  }

  const total = raw.latency + raw.successRate + raw.stability

  if (total <= 0) {
    throw new InvalidHealthOptionError('weights must not all be 0')
  }

  return { latency: raw.latency / total, successRate: raw.successRate / total, stability: raw.stability / total }
}

const PROBES: ReadonlySet<string> = new Set(['auto', 'muxer', 'stream'])
/** A Prometheus metric name may start with this (and continue with digits) */
const METRICS_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const PROTOCOL_PREFIX = /^[^/\s]+$/

function pattern (name: string, value: string | undefined, fallback: string, re: RegExp): string {
  const resolved = value ?? fallback

  if (typeof resolved !== 'string' || !re.test(resolved)) {
    throw new InvalidHealthOptionError(`${name} must match ${re}, got ${value}`)
  }

  return resolved
}

/** `@libp2p/ping`'s protocol with the given first segment */
export function pingProtocol (prefix: string): string {
  return PING_PROTOCOL.replace(/^\/[^/]+\//, `/${prefix}/`)
}

function loopLag (lag: LoopLag | undefined): LoopLag {
  if (lag == null) {
    return new TimerLoopLag()
  }

  if (typeof lag.now !== 'function' || typeof lag.stalled !== 'function' || typeof lag.hold !== 'function') {
    throw new InvalidHealthOptionError('loopLag must have now(), stalled() and hold()')
  }

  return lag
}

export function resolveOptions (init: ConnectionHealthInit): ResolvedHealthOptions {
  const minTimeout = number('minTimeout', init.minTimeout, C.DEFAULT_MIN_TIMEOUT, 1)
  const probe = init.probe ?? C.DEFAULT_PROBE

  if (!PROBES.has(probe)) {
    throw new InvalidHealthOptionError(`probe must be 'auto', 'muxer' or 'stream', got ${init.probe}`)
  }

  return {
    probe,
    pingProtocol: pingProtocol(pattern('protocolPrefix', init.protocolPrefix, C.DEFAULT_PROTOCOL_PREFIX, PROTOCOL_PREFIX)),
    metricsPrefix: pattern('metricsPrefix', init.metricsPrefix, C.DEFAULT_METRICS_PREFIX, METRICS_PREFIX),
    checkInterval: number('checkInterval', init.checkInterval, C.DEFAULT_CHECK_INTERVAL, 10),
    checkJitter: number('checkJitter', init.checkJitter, C.DEFAULT_CHECK_JITTER, 0, 0.99),
    pingTimeout: number('pingTimeout', init.pingTimeout, C.DEFAULT_PING_TIMEOUT, 1),
    maxConcurrentProbes: number('maxConcurrentProbes', init.maxConcurrentProbes, C.DEFAULT_MAX_CONCURRENT_PROBES, 1, Infinity, true),
    minHealthThreshold: number('minHealthThreshold', init.minHealthThreshold, C.DEFAULT_MIN_HEALTH_THRESHOLD, 0, 1),
    minConnectionsPerPeer: number('minConnectionsPerPeer', init.minConnectionsPerPeer, C.DEFAULT_MIN_CONNECTIONS_PER_PEER, 0, Infinity, true),
    maxPingLatency: number('maxPingLatency', init.maxPingLatency, C.DEFAULT_MAX_PING_LATENCY, 1),
    minPingSuccessRate: number('minPingSuccessRate', init.minPingSuccessRate, C.DEFAULT_MIN_PING_SUCCESS_RATE, 0.01, 1),
    maxFailedStreams: number('maxFailedStreams', init.maxFailedStreams, C.DEFAULT_MAX_FAILED_STREAMS, 1, Infinity, true),
    unhealthyChecksBeforeReplace: number('unhealthyChecksBeforeReplace', init.unhealthyChecksBeforeReplace, C.DEFAULT_UNHEALTHY_CHECKS_BEFORE_REPLACE, 1, Infinity, true),
    replaceUnhealthy: init.replaceUnhealthy ?? true,
    replaceGrace: number('replaceGrace', init.replaceGrace, C.DEFAULT_REPLACE_GRACE, 0),
    protectedTag: init.protectedTag ?? C.DEFAULT_PROTECTED_TAG,
    minTimeout,
    maxTimeout: number('maxTimeout', init.maxTimeout, C.DEFAULT_MAX_TIMEOUT, minTimeout),
    weights: resolveWeights(init.weights),
    loopLag: loopLag(init.loopLag)
  }
}
