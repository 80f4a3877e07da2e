/**
 * `PubSubPeerDiscoveryInit` resolved against the defaults of
 * `constants.ts` and validated once: a bad option throws
 * `InvalidDiscoveryOptionError` naming it.
 */
import { allAddresses, scopedAddresses } from './address-filter.ts'
import * as C from './constants.ts'
import { InvalidDiscoveryOptionError } from './errors.ts'
import type { AddressFilter } from './address-filter.ts'
import type { PubSubPeerDiscoveryInit } from './index.ts'
import type { ScheduleOptions } from './schedule.ts'
import type { ValidationLimits } from './validate.ts'

export interface DiscoveryOptions {
  topics: string[]
  listenOnly: boolean
  schedule: ScheduleOptions
  announceDebounce: number
  limits: ValidationLimits
  maxPeers: number
  rateLimit: number
  maxExchangedPeers: number
  addressFilter: AddressFilter
  incomingAddressFilter: AddressFilter
  maxVerificationsPerInterval: number
  maxNewPeersPerInterval: number
  metricsPrefix: string
  nameResolutionTimeout: number
  maxNameLookupsPerInterval: number
  pubsubServiceName?: string
}

export function resolveOptions (init: PubSubPeerDiscoveryInit): DiscoveryOptions {
  const jitter = init.jitter ?? C.DEFAULT_JITTER

  if (!Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
    throw new InvalidDiscoveryOptionError(`jitter must be in [0, 1), got ${init.jitter}`)
  }

  const announceDebounce = init.announceDebounce ?? C.DEFAULT_ANNOUNCE_DEBOUNCE

  if (!Number.isFinite(announceDebounce) || announceDebounce < 0) {
    throw new InvalidDiscoveryOptionError(`announceDebounce must be >= 0, got ${init.announceDebounce}`)
  }

  return {
    topics: init.topics != null && init.topics.length > 0 ? [...init.topics] : [C.TOPIC],
    listenOnly: init.listenOnly ?? false,
    schedule: {
      interval: positive('interval', init.interval, C.DEFAULT_INTERVAL),
      jitter,
      targetAnnouncements: positive('targetAnnouncements', init.targetAnnouncements, C.DEFAULT_TARGET_ANNOUNCEMENTS, true),
      maxPeriod: positive('maxPeriod', init.maxPeriod, C.DEFAULT_MAX_PERIOD, true)
    },
    announceDebounce,
    limits: {
      maxMessageSize: positive('maxMessageSize', init.maxMessageSize, C.DEFAULT_MAX_MESSAGE_SIZE, true),
      maxAddresses: positive('maxAddresses', init.maxAddresses, C.DEFAULT_MAX_ADDRESSES, true),
      maxPeerRecords: C.MAX_PEER_RECORDS_PER_MESSAGE,
      allowUnsigned: init.allowUnsigned ?? false
    },
    maxPeers: positive('maxPeers', init.maxPeers, C.DEFAULT_MAX_PEERS, true),
    rateLimit: positive('rateLimit', init.rateLimit, C.DEFAULT_RATE_LIMIT, true),
    maxExchangedPeers: nonNegativeInteger('maxExchangedPeers', init.maxExchangedPeers, C.DEFAULT_MAX_EXCHANGED_PEERS),
    addressFilter: fn('addressFilter', init.addressFilter, allAddresses),
    incomingAddressFilter: fn('incomingAddressFilter', init.incomingAddressFilter, scopedAddresses),
    maxVerificationsPerInterval: positive('maxVerificationsPerInterval', init.maxVerificationsPerInterval, C.DEFAULT_MAX_VERIFICATIONS_PER_INTERVAL, true),
    maxNewPeersPerInterval: positive('maxNewPeersPerInterval', init.maxNewPeersPerInterval, C.DEFAULT_MAX_NEW_PEERS_PER_INTERVAL, true),
    metricsPrefix: metricsPrefix(init.metricsPrefix),
    nameResolutionTimeout: timeout('nameResolutionTimeout', init.nameResolutionTimeout, C.DEFAULT_NAME_RESOLUTION_TIMEOUT),
    maxNameLookupsPerInterval: positive('maxNameLookupsPerInterval', init.maxNameLookupsPerInterval, C.DEFAULT_MAX_NAME_LOOKUPS_PER_INTERVAL, true),
    pubsubServiceName: init.pubsubServiceName
  }
}

function positive (name: string, value: number | undefined, fallback: number, integer = false): number {
  const resolved = value ?? fallback

  if (!Number.isFinite(resolved) || resolved <= 0 || (integer && !Number.isInteger(resolved))) {
    throw new InvalidDiscoveryOptionError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`)
  }

  return resolved
}

/** A timer delay: a positive integer of ms that setTimeout keeps (at most 2^31 - 1) */
function timeout (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (!Number.isInteger(resolved) || resolved <= 0 || resolved > 2 ** 31 - 1) {
    throw new InvalidDiscoveryOptionError(`${name} must be a positive integer of ms up to 2^31 - 1, got ${value}`)
  }

  return resolved
}

function nonNegativeInteger (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (!Number.isInteger(resolved) || resolved < 0) {
    throw new InvalidDiscoveryOptionError(`${name} must be a non-negative integer, got ${value}`)
  }

  return resolved
}

function fn<T> (name: string, value: T | undefined, fallback: T): T {
  if (value != null && typeof value !== 'function') {
    throw new InvalidDiscoveryOptionError(`${name} must be a function, got ${typeof value}`)
  }

  return value ?? fallback
}

function metricsPrefix (value: string | undefined): string {
  const prefix = value ?? C.DEFAULT_METRICS_PREFIX

  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new InvalidDiscoveryOptionError(`metricsPrefix must be a Prometheus metric name prefix, got ${value}`)
  }

  return prefix
}
