/**
 * Errors of the batching service; callers test `err.name`. The wire errors
 * are the ones PROTOCOL.md names: a stream is reset with one of them.
 */

/** An option passed to `messageBatching()` or a call's argument is invalid */
export class InvalidBatchingOptionError extends Error {
  static name = 'InvalidBatchingOptionError'
  name = 'InvalidBatchingOptionError'
}

/** A frame longer than `limits.maxFrameBytes` */
export class FrameTooLargeError extends Error {
  static name = 'FrameTooLargeError'
  name = 'FrameTooLargeError'
}

/** A compressed frame inflates past `limits.maxFrameBytes` */
export class DecompressionLimitError extends Error {
  static name = 'DecompressionLimitError'
  name = 'DecompressionLimitError'
}

/** More than `limits.maxRecordsPerFrame` records in one frame */
export class TooManyRecordsError extends Error {
  static name = 'TooManyRecordsError'
  name = 'TooManyRecordsError'
}

/** A message, request or response larger than `limits.maxMessageBytes` (sent or received) */
export class MessageTooLargeError extends Error {
  static name = 'MessageTooLargeError'
  name = 'MessageTooLargeError'
}

/** More than `limits.maxNames` names on one stream */
export class TooManyNamesError extends Error {
  static name = 'TooManyNamesError'
  name = 'TooManyNamesError'
}

/** More than `limits.maxInflightRequests` unanswered requests on a stream or to a peer */
export class TooManyRequestsError extends Error {
  static name = 'TooManyRequestsError'
  name = 'TooManyRequestsError'
}

/** Bytes that are not a frame or record of PROTOCOL.md */
export class MalformedFrameError extends Error {
  static name = 'MalformedFrameError'
  name = 'MalformedFrameError'
}

/** Well-formed records that break a rule of PROTOCOL.md (direction, names, ids) */
export class ProtocolViolationError extends Error {
  static name = 'ProtocolViolationError'
  name = 'ProtocolViolationError'
}

/** A message for a name without a handler */
export class UnknownNameError extends Error {
  static name = 'UnknownNameError'
  name = 'UnknownNameError'
}

/** The remote has no handler for the requested name */
export class NoHandlerError extends Error {
  static name = 'NoHandlerError'
  name = 'NoHandlerError'
}

/** The remote's handler failed; the message is its error text */
export class RemoteHandlerError extends Error {
  static name = 'RemoteHandlerError'
  name = 'RemoteHandlerError'
}

/** The stream carrying a written request closed before the answer came */
export class ResponseLostError extends Error {
  static name = 'ResponseLostError'
  name = 'ResponseLostError'
}

/** Too many callers already wait for room in the peer's queue */
export class QueueFullError extends Error {
  static name = 'QueueFullError'
  name = 'QueueFullError'
}

/** The service stopped (or was never started) */
export class BatchingStoppedError extends Error {
  static name = 'BatchingStoppedError'
  name = 'BatchingStoppedError'
}

/** More peers with a channel than `limits.maxPeers` */
export class TooManyPeersError extends Error {
  static name = 'TooManyPeersError'
  name = 'TooManyPeersError'
}

/** More inbound streams, over all peers, than `maxInboundSessions` */
export class TooManyInboundStreamsError extends Error {
  static name = 'TooManyInboundStreamsError'
  name = 'TooManyInboundStreamsError'
}

/** Answers waiting to be written, over all inbound streams, passed `maxPendingAnswerBytes`: the stream holding the most is reset */
export class PendingAnswersLimitError extends Error {
  static name = 'PendingAnswersLimitError'
  name = 'PendingAnswersLimitError'
}

/** A flow-controlled stream had bytes unacknowledged and no ACK for `flowControl.ackTimeout`: it is reset and opened again */
export class AckTimeoutError extends Error {
  static name = 'AckTimeoutError'
  name = 'AckTimeoutError'
}

/** A write waited for the stream's 'drain' longer than `writeTimeout`: the remote reads nothing; the stream was reset */
export class WriteTimeoutError extends Error {
  static name = 'WriteTimeoutError'
  name = 'WriteTimeoutError'
}
