/**
 * Validates `ConnectionPoolInit` and resolves its defaults; an invalid
 * option fails at construction with a named error.
 */
import * as C from './constants.ts'
import { InvalidPoolOptionError } from './errors.ts'
import { resolveStrategy } from './strategies.ts'
import type { ConnectionPoolInit, ConnectionSelector, RetryOptions } from './index.ts'

export interface ResolvedPoolOptions {
  maxConnectionsPerPeer: number
  minConnectionsPerPeer: number
  maxConnections: number
  maxPeers: number
  selector: ConnectionSelector
  dialTimeout: number
  streamOpenTimeout: number
  idleTimeout: number
  maintenanceInterval: number
  retry: Required<RetryOptions>
  tagName: string
  tagValue: number
  reportStreams: boolean
  metricsPrefix: string
}

function integer (name: string, value: number | undefined, fallback: number, min: number): number {
  const resolved = value ?? fallback

  if (!Number.isInteger(resolved) || resolved < min) {
    throw new InvalidPoolOptionError(`${name} must be an integer >= ${min}, got ${value}`)
  }

  return resolved
}

/** Longest delay a timer takes as given; beyond it Node fires it after 1 ms */
const MAX_TIMER_DELAY = 2 ** 31 - 1

function duration (name: string, value: number | undefined, fallback: number, min = 0): number {
  const resolved = value ?? fallback

  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < min || resolved > MAX_TIMER_DELAY) {
    throw new InvalidPoolOptionError(`${name} must be a number of ms from ${min} to ${MAX_TIMER_DELAY}, got ${value}`)
  }

  return resolved
}

function isObject (value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fraction (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (!Number.isFinite(resolved) || resolved < 0 || resolved > 1) {
    throw new InvalidPoolOptionError(`${name} must be between 0 and 1, got ${value}`)
  }

  return resolved
}

function metricName (name: string, value: string | undefined, fallback: string): string {
  const resolved = value ?? fallback

  if (typeof resolved !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(resolved)) {
    throw new InvalidPoolOptionError(`${name} must start a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${String(value)}`)
  }

  return resolved
}

export function resolveOptions (init: ConnectionPoolInit): ResolvedPoolOptions {
  if (!isObject(init)) {
    throw new InvalidPoolOptionError(`The options must be an object, got ${init === null ? 'null' : Array.isArray(init) ? 'an array' : typeof init}`)
  }

  if (init.retry != null && !isObject(init.retry)) {
    throw new InvalidPoolOptionError(`retry must be an object, got ${typeof init.retry}`)
  }

  if (init.tagName !== undefined && (typeof init.tagName !== 'string' || init.tagName === '')) {
    throw new InvalidPoolOptionError(`tagName must be a non-empty string, got ${String(init.tagName)}`)
  }

  if (init.reportStreams !== undefined && typeof init.reportStreams !== 'boolean') {
    throw new InvalidPoolOptionError(`reportStreams must be a boolean, got ${typeof init.reportStreams}`)
  }

  const maxConnectionsPerPeer = integer('maxConnectionsPerPeer', init.maxConnectionsPerPeer, C.DEFAULT_MAX_CONNECTIONS_PER_PEER, 1)
  const minConnectionsPerPeer = integer('minConnectionsPerPeer', init.minConnectionsPerPeer, Math.min(C.DEFAULT_MIN_CONNECTIONS_PER_PEER, maxConnectionsPerPeer), 0)

  if (minConnectionsPerPeer > maxConnectionsPerPeer) {
    throw new InvalidPoolOptionError(`minConnectionsPerPeer (${minConnectionsPerPeer}) must not exceed maxConnectionsPerPeer (${maxConnectionsPerPeer})`)
  }

  const retry = init.retry ?? {}
  const initialDelay = duration('retry.initialDelay', retry.initialDelay, C.DEFAULT_INITIAL_DELAY)
  const maxDelay = duration('retry.maxDelay', retry.maxDelay, Math.max(C.DEFAULT_MAX_DELAY, initialDelay))

  if (maxDelay < initialDelay) {
    throw new InvalidPoolOptionError(`retry.maxDelay (${maxDelay}) must not be below retry.initialDelay (${initialDelay})`)
  }

  const backoffMultiplier = retry.backoffMultiplier ?? C.DEFAULT_BACKOFF_MULTIPLIER

  if (!Number.isFinite(backoffMultiplier) || backoffMultiplier < 1) {
    throw new InvalidPoolOptionError(`retry.backoffMultiplier must be >= 1, got ${retry.backoffMultiplier}`)
  }

  return {
    maxConnectionsPerPeer,
    minConnectionsPerPeer,
    maxConnections: integer('maxConnections', init.maxConnections, C.DEFAULT_MAX_CONNECTIONS, 1),
    maxPeers: integer('maxPeers', init.maxPeers, C.DEFAULT_MAX_PEERS, 1),
    selector: resolveStrategy(init.strategy, {
      scoreTolerance: fraction('scoreTolerance', init.scoreTolerance, C.DEFAULT_SCORE_TOLERANCE),
      latencyToleranceMs: duration('latencyToleranceMs', init.latencyToleranceMs, C.DEFAULT_LATENCY_TOLERANCE_MS),
      latencyToleranceRatio: fraction('latencyToleranceRatio', init.latencyToleranceRatio, C.DEFAULT_LATENCY_TOLERANCE_RATIO)
    }),
    dialTimeout: duration('dialTimeout', init.dialTimeout, C.DEFAULT_DIAL_TIMEOUT, 1),
    streamOpenTimeout: duration('streamOpenTimeout', init.streamOpenTimeout, C.DEFAULT_STREAM_OPEN_TIMEOUT, 1),
    idleTimeout: duration('idleTimeout', init.idleTimeout, C.DEFAULT_IDLE_TIMEOUT, 1),
    maintenanceInterval: duration('maintenanceInterval', init.maintenanceInterval, C.DEFAULT_MAINTENANCE_INTERVAL, 10),
    retry: {
      maxRetries: integer('retry.maxRetries', retry.maxRetries, C.DEFAULT_MAX_RETRIES, 0),
      initialDelay,
      maxDelay,
      backoffMultiplier,
      jitterFactor: fraction('retry.jitterFactor', retry.jitterFactor, C.DEFAULT_JITTER_FACTOR)
    },
    tagName: init.tagName ?? C.DEFAULT_TAG_NAME,
    tagValue: integer('tagValue', init.tagValue, C.DEFAULT_TAG_VALUE, 0),
    reportStreams: init.reportStreams ?? false,
    metricsPrefix: metricName('metricsPrefix', init.metricsPrefix, C.DEFAULT_METRICS_PREFIX)
  }
}
