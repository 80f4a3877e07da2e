/**
 * `PubSubPeerDiscoveryInit` resolved against the defaults of
 * `constants.ts` and validated once: a bad option throws
 * `InvalidDiscoveryOptionError` naming it.
 */
import { allAddresses } from './address-filter.ts'
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
      targetAnnouncements: positive('targetAnnouncements', init.targetAnnouncements, C.DEFAULT_TARGET_ANNOUNCEMENTS, true)
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
    addressFilter: init.addressFilter ?? allAddresses,
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

function nonNegativeInteger (name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback

  if (!Number.isInteger(resolved) || resolved < 0) {
    throw new InvalidDiscoveryOptionError(`${name} must be a non-negative integer, got ${value}`)
  }

  return resolved
}
