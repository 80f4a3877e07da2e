/**
 * Resolves `MessageBatchingInit` into readonly settings, validating every
 * field at construction (`InvalidBatchingOptionError`).
 */
import * as c from './constants.ts'
import { InvalidBatchingOptionError } from './errors.ts'
import type { BackoffSettings } from './backoff.ts'
import type { CompressionLevel } from './compression.ts'
import type { MessageBatchingInit } from './index.ts'
import type { FlushSettings } from './writer.ts'

export interface WireLimits {
  maxFrameBytes: number
  maxMessageBytes: number
  maxRecordsPerFrame: number
  maxNames: number
  maxInflightRequests: number
}

export interface FlowSettings {
  /** The flow-controlled protocol id */
  protocol: string
  maxUnackedBytes: number
  ackTimeout: number
}

export interface BatchingSettings extends FlushSettings {
  /** Undefined when flow control is off */
  flowControl?: FlowSettings
  limits: WireLimits
  maxQueueBytes: number
  maxQueueLength: number
  maxWaiting: number
  maxPeers: number
  requestTimeout?: number
  minRequestTimeout: number
  openTimeout: number
  maxInboundStreams: number
  maxOutboundStreams: number
  maxInboundSessions: number
  maxPendingAnswerBytes: number
  handlerTimeout: number
  writeTimeout: number
  maxRunningHandlers: number
  reopenBackoff: BackoffSettings
  metricsPrefix: string
  protocol: string
}

/** setTimeout turns longer delays into 1 ms */
const MAX_TIMER = 2 ** 31 - 1

function integer (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value == null) {
    return fallback
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidBatchingOptionError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function optionalInteger (name: string, value: number | undefined): number | undefined {
  return value == null ? undefined : integer(name, value, 0, 1, MAX_TIMER)
}

function resolveLimits (init: MessageBatchingInit): WireLimits {
  const limits: WireLimits = {
    maxFrameBytes: integer('limits.maxFrameBytes', init.limits?.maxFrameBytes, c.DEFAULT_MAX_FRAME_BYTES, 1024, 2 ** 31),
    maxMessageBytes: integer('limits.maxMessageBytes', init.limits?.maxMessageBytes, c.DEFAULT_MAX_MESSAGE_BYTES, 1, 2 ** 31),
    maxRecordsPerFrame: integer('limits.maxRecordsPerFrame', init.limits?.maxRecordsPerFrame, c.DEFAULT_MAX_RECORDS_PER_FRAME, 1),
    maxNames: integer('limits.maxNames', init.limits?.maxNames, c.DEFAULT_MAX_NAMES, 1, 2 ** 28),
    maxInflightRequests: integer('limits.maxInflightRequests', init.limits?.maxInflightRequests, c.DEFAULT_MAX_INFLIGHT_REQUESTS, 1)
  }

  if (limits.maxMessageBytes + 16 > limits.maxFrameBytes) {
    throw new InvalidBatchingOptionError('limits.maxMessageBytes must leave 16 bytes of room in limits.maxFrameBytes')
  }

  return limits
}

function checkStrings (init: MessageBatchingInit): void {
  if (init.adaptive != null && typeof init.adaptive !== 'boolean') {
    throw new InvalidBatchingOptionError('adaptive must be a boolean')
  }

  if (init.metricsPrefix != null && (typeof init.metricsPrefix !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(init.metricsPrefix))) {
    throw new InvalidBatchingOptionError('metricsPrefix must match [a-zA-Z_][a-zA-Z0-9_]*')
  }

  if (init.protocol != null && (typeof init.protocol !== 'string' || !init.protocol.startsWith('/'))) {
    throw new InvalidBatchingOptionError('protocol must be a string starting with /')
  }
}

function flowProtocol (protocol: string): string {
  return protocol === c.PROTOCOL ? c.FLOW_PROTOCOL : `${protocol}/ack`
}

function resolveFlowControl (init: MessageBatchingInit, protocol: string): FlowSettings | undefined {
  if (init.flowControl === false) {
    return undefined
  }

  if (init.flowControl != null && typeof init.flowControl !== 'object') {
    throw new InvalidBatchingOptionError('flowControl must be an object or false')
  }

  const flow = init.flowControl ?? {}

  if (flow.protocol != null && (typeof flow.protocol !== 'string' || !flow.protocol.startsWith('/') || flow.protocol === protocol)) {
    throw new InvalidBatchingOptionError('flowControl.protocol must be a string starting with / other than protocol')
  }

  return {
    protocol: flow.protocol ?? flowProtocol(protocol),
    maxUnackedBytes: integer('flowControl.maxUnackedBytes', flow.maxUnackedBytes, c.DEFAULT_MAX_UNACKED_BYTES, 1024, 2 ** 31),
    ackTimeout: integer('flowControl.ackTimeout', flow.ackTimeout, c.DEFAULT_ACK_TIMEOUT, 1, MAX_TIMER)
  }
}

function resolveBackoff (init: MessageBatchingInit): BackoffSettings {
  if (init.reopenBackoff != null && typeof init.reopenBackoff !== 'object') {
    throw new InvalidBatchingOptionError('reopenBackoff must be an object')
  }

  const initialDelay = integer('reopenBackoff.initialDelay', init.reopenBackoff?.initialDelay, c.DEFAULT_REOPEN_INITIAL_DELAY, 1, MAX_TIMER)
  const maxDelay = integer('reopenBackoff.maxDelay', init.reopenBackoff?.maxDelay, Math.max(initialDelay, c.DEFAULT_REOPEN_MAX_DELAY), initialDelay, MAX_TIMER)
  return { initialDelay, maxDelay }
}

export function resolveSettings (init: MessageBatchingInit = {}): BatchingSettings {
  if (init == null || typeof init !== 'object') {
    throw new InvalidBatchingOptionError('init must be an object')
  }

  checkStrings(init)
  const limits = resolveLimits(init)

  const maxBatchSize = integer('maxBatchSize', init.maxBatchSize, c.DEFAULT_MAX_BATCH_SIZE, 1, limits.maxRecordsPerFrame / 2)
  const maxBatchBytes = integer('maxBatchBytes', init.maxBatchBytes, c.DEFAULT_MAX_BATCH_BYTES, 1, limits.maxFrameBytes - limits.maxMessageBytes - 16)
  const compression = init.compression === false ? undefined : init.compression
  const level = integer('compression.level', compression?.level, c.DEFAULT_COMPRESSION_LEVEL, 0, 9) as CompressionLevel
  const threshold = init.compression === false
    ? Infinity
    : integer('compression.threshold', compression?.threshold, c.DEFAULT_COMPRESSION_THRESHOLD, 0)

  const protocol = init.protocol ?? c.PROTOCOL

  return {
    flowControl: resolveFlowControl(init, protocol),
    maxBatchSize,
    maxBatchBytes,
    batchTimeout: integer('batchTimeout', init.batchTimeout, c.DEFAULT_BATCH_TIMEOUT, 0, 60_000),
    adaptive: init.adaptive ?? true,
    compressionThreshold: threshold,
    compressionLevel: level,
    limits,
    maxQueueBytes: integer('maxQueueBytes', init.maxQueueBytes, c.DEFAULT_MAX_QUEUE_BYTES, 1),
    maxQueueLength: integer('maxQueueLength', init.maxQueueLength, c.DEFAULT_MAX_QUEUE_LENGTH, 1),
    maxWaiting: integer('maxWaiting', init.maxWaiting, c.DEFAULT_MAX_WAITING, 0),
    maxPeers: integer('maxPeers', init.maxPeers, c.DEFAULT_MAX_PEERS, 1),
    requestTimeout: optionalInteger('requestTimeout', init.requestTimeout),
    minRequestTimeout: integer('minRequestTimeout', init.minRequestTimeout, c.DEFAULT_MIN_REQUEST_TIMEOUT, 0, MAX_TIMER),
    openTimeout: integer('openTimeout', init.openTimeout, c.DEFAULT_OPEN_TIMEOUT, 1, MAX_TIMER),
    maxInboundStreams: integer('maxInboundStreams', init.maxInboundStreams, c.DEFAULT_MAX_INBOUND_STREAMS, 1),
    maxOutboundStreams: integer('maxOutboundStreams', init.maxOutboundStreams, c.DEFAULT_MAX_OUTBOUND_STREAMS, 1),
    maxInboundSessions: integer('maxInboundSessions', init.maxInboundSessions, c.DEFAULT_MAX_INBOUND_SESSIONS, 1),
    maxPendingAnswerBytes: integer('maxPendingAnswerBytes', init.maxPendingAnswerBytes, c.DEFAULT_MAX_PENDING_ANSWER_BYTES, 1),
    handlerTimeout: integer('handlerTimeout', init.handlerTimeout, c.DEFAULT_HANDLER_TIMEOUT, 1, MAX_TIMER),
    writeTimeout: integer('writeTimeout', init.writeTimeout, c.DEFAULT_WRITE_TIMEOUT, 1, MAX_TIMER),
    maxRunningHandlers: integer('maxRunningHandlers', init.maxRunningHandlers, c.DEFAULT_MAX_RUNNING_HANDLERS, 1),
    reopenBackoff: resolveBackoff(init),
    metricsPrefix: init.metricsPrefix ?? c.DEFAULT_METRICS_PREFIX,
    protocol
  }
}
