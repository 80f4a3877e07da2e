/**
 * Validates `BandwidthManagerInit` and resolves its defaults.
 */
import * as C from './constants.ts'
import { InvalidBandwidthOptionError } from './errors.ts'
import type { BandwidthManagerInit, TrafficClassInit } from './index.ts'

export interface ResolvedClass {
  name: string
  protocols: string[]
  priority: number
  weight: number
  maxRate: number
  minRate: number
  background: boolean
}

export interface ResolvedBandwidthOptions {
  maxUpload: number
  maxDownload: number
  perPeer: { maxUpload: number, maxDownload: number }
  classes: ResolvedClass[]
  defaultClass: ResolvedClass
  congestion: { enabled: boolean, targetDelay: number, sampleInterval: number }
  burstTime: number
  catchUpTime: number
  metricsPrefix: string
  maxTrackedPeers: number
  maxTrackedProtocols: number
}

function rate (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (typeof resolved !== 'number' || Number.isNaN(resolved) || resolved <= 0) {
    throw new InvalidBandwidthOptionError(`${name} must be a number of bytes/s > 0 (or Infinity), got ${String(value)}`)
  }

  return resolved
}

function number (name: string, value: number | undefined, fallback: number, min: number, max = Infinity, integer = false): number {
  const resolved = value ?? fallback

  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < min || resolved > max || (integer && !Number.isInteger(resolved))) {
    throw new InvalidBandwidthOptionError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${String(value)}`)
  }

  return resolved
}

function boolean (name: string, value: boolean | undefined, fallback: boolean): boolean {
  const resolved = value ?? fallback

  if (typeof resolved !== 'boolean') {
    throw new InvalidBandwidthOptionError(`${name} must be a boolean, got ${String(value)}`)
  }

  return resolved
}

function object (name: string, value: unknown): void {
  if (value != null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new InvalidBandwidthOptionError(`${name} must be an object, got ${String(value)}`)
  }
}

function resolveClass (name: string, init: TrafficClassInit): ResolvedClass {
  if (init == null || typeof init !== 'object') {
    throw new InvalidBandwidthOptionError(`classes.${name} must be an object`)
  }

  if (!Array.isArray(init.protocols) || init.protocols.some(p => typeof p !== 'string' || p.length === 0)) {
    throw new InvalidBandwidthOptionError(`classes.${name}.protocols must be an array of non-empty protocol prefixes`)
  }

  const maxRate = rate(`classes.${name}.maxRate`, init.maxRate, Infinity)
  const minRate = init.minRate == null ? 0 : number(`classes.${name}.minRate`, init.minRate, 0, 0)

  if (minRate > maxRate) {
    throw new InvalidBandwidthOptionError(`classes.${name}.minRate (${minRate}) is above its maxRate (${maxRate})`)
  }

  return {
    name,
    protocols: [...init.protocols],
    priority: number(`classes.${name}.priority`, init.priority, C.DEFAULT_PRIORITY, -1e6, 1e6, true),
    weight: number(`classes.${name}.weight`, init.weight, C.DEFAULT_WEIGHT, 0.01, 1e6),
    maxRate,
    minRate,
    background: boolean(`classes.${name}.background`, init.background, false)
  }
}

export function resolveOptions (init: BandwidthManagerInit = {}): ResolvedBandwidthOptions {
  if (init == null || typeof init !== 'object') {
    throw new InvalidBandwidthOptionError('init must be an object')
  }

  object('classes', init.classes)
  object('perPeer', init.perPeer)
  object('congestion', init.congestion)
  const classes = Object.entries(init.classes ?? {}).map(([name, cls]) => resolveClass(name, cls))
  let defaultClass: ResolvedClass | undefined

  if (init.defaultClass != null) {
    defaultClass = classes.find(cls => cls.name === init.defaultClass)

    if (defaultClass == null) {
      throw new InvalidBandwidthOptionError(`defaultClass "${init.defaultClass}" is not one of the classes (${classes.map(c => c.name).join(', ')})`)
    }
  } else {
    defaultClass = classes.find(cls => cls.name === C.DEFAULT_CLASS_NAME)

    if (defaultClass == null) {
      defaultClass = { name: C.DEFAULT_CLASS_NAME, protocols: [], priority: C.DEFAULT_PRIORITY, weight: C.DEFAULT_WEIGHT, maxRate: Infinity, minRate: 0, background: false }
      classes.push(defaultClass)
    }
  }

  const maxUpload = rate('maxUpload', init.maxUpload, Infinity)
  const guaranteed = classes.reduce((sum, cls) => sum + cls.minRate, 0)

  if (guaranteed > maxUpload) {
    throw new InvalidBandwidthOptionError(`the classes' minRate add up to ${guaranteed} bytes/s, more than maxUpload (${maxUpload})`)
  }

  const prefix = init.metricsPrefix ?? C.DEFAULT_METRICS_PREFIX

  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new InvalidBandwidthOptionError(`metricsPrefix must be a valid Prometheus metric name prefix, got ${String(prefix)}`)
  }

  return {
    maxUpload,
    maxDownload: rate('maxDownload', init.maxDownload, Infinity),
    perPeer: {
      maxUpload: rate('perPeer.maxUpload', init.perPeer?.maxUpload, Infinity),
      maxDownload: rate('perPeer.maxDownload', init.perPeer?.maxDownload, Infinity)
    },
    classes,
    defaultClass,
    congestion: {
      enabled: boolean('congestion.enabled', init.congestion?.enabled, false),
      targetDelay: number('congestion.targetDelay', init.congestion?.targetDelay, C.DEFAULT_TARGET_DELAY, 1, 60_000),
      sampleInterval: number('congestion.sampleInterval', init.congestion?.sampleInterval, C.DEFAULT_SAMPLE_INTERVAL, 10, 60_000)
    },
    burstTime: number('burstTime', init.burstTime, C.DEFAULT_BURST_TIME, 1, 10_000),
    catchUpTime: number('catchUpTime', init.catchUpTime, C.DEFAULT_CATCH_UP_TIME, 0, 10_000),
    metricsPrefix: prefix,
    maxTrackedPeers: number('maxTrackedPeers', init.maxTrackedPeers, C.DEFAULT_MAX_TRACKED_PEERS, 1, Infinity, true),
    maxTrackedProtocols: number('maxTrackedProtocols', init.maxTrackedProtocols, C.DEFAULT_MAX_TRACKED_PROTOCOLS, 1, Infinity, true)
  }
}
