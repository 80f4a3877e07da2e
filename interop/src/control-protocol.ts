/**
 * The go peer's control protocol, typed: GENERATED from
 * `interop/go-peer/control-protocol.json` by `node interop/src/control-schema.ts --write`.
 * Do not edit: edit the schema (the Go structs in `go-peer/schema.go` are checked against it).
 */

export type Empty = Record<string, never>

export interface ConnectArgs {
  addr: string
  force?: boolean
}

export interface ConnectReply {
  peerId: string
  connId: string
  limited: boolean
}

export interface PeerArgs {
  peerId: string
}

export interface CloseConnArgs {
  connId: string
}

export interface ConnInfo {
  connId: string
  peerId: string
  remoteAddr: string
  localAddr: string
  direction: string
  limited: boolean
  transient: boolean
  streams: number
  streamsOpened: Record<string, number>
}

export interface ConnsReply {
  conns: ConnInfo[]
}

export interface AddrsReply {
  addrs: string[]
  p2pAddrs: string[]
}

export interface ReachabilityReply {
  value: string
}

export interface IdentifyInfoReply {
  agentVersion: string
  protocolVersion: string
  protocols: string[]
  addrs: string[]
}

export interface TopicArgs {
  topic: string
}

export interface PublishArgs {
  topic: string
  dataBase64: string
}

export interface TopicPeersReply {
  peers: string[]
}

export interface AnnounceArgs {
  topic?: string
  addrs?: string[]
}

export interface AnnounceReply {
  addrs: number
}

export interface StreamCountsReply {
  perConn: Record<string, Record<string, number>>
}

export interface PingArgs {
  peerId: string
  count?: number
}

export interface PingReply {
  rttsMs: number[]
}

export interface EchoArgs {
  peerId: string
  sizeBytes?: number
  dataBase64?: string
}

export interface EchoReply {
  bytes: number
  identical: boolean
  ms: number
  connId: string
}

export interface BatchListenArgs {
  names?: string[]
  compressThreshold?: number
}

export interface BatchListenReply {
  protocol: string
}

export interface BatchReceivedArgs {
  clear?: boolean
}

export interface BatchMessage {
  name: string
  priority: number
  data: string
}

export interface BatchReceivedReply {
  messages: BatchMessage[]
  dropped: number
  errors: Record<string, number>
  frames: number
  compressedFrames: number
}

export interface BatchSendArgs {
  peerId: string
  name: string
  messages: string[]
  priorities?: number[]
  batchSize?: number
  compressThreshold?: number
  flowControl?: boolean
}

export interface BatchSendReply {
  frames: number
  compressedFrames: number
  wireBytes: number
  protocol: string
  ackedFrames: number
}

export interface BatchRequestArgs {
  peerId: string
  name: string
  requests: string[]
  priority?: number
  compressThreshold?: number
}

export interface BatchAnswer {
  id: number
  status: number
  data: string
}

export interface BatchRequestReply {
  answers: BatchAnswer[]
  requestCompressed: boolean
  compressedAnswerFrames: number
}

/** Every command: its arguments and its reply (the fields of its result line) */
export interface GoPeerCommands {
  connect: { args: ConnectArgs, reply: ConnectReply }
  disconnect: { args: PeerArgs, reply: Empty }
  'close-conn': { args: CloseConnArgs, reply: Empty }
  conns: { args: Empty, reply: ConnsReply }
  addrs: { args: Empty, reply: AddrsReply }
  reachability: { args: Empty, reply: ReachabilityReply }
  exit: { args: Empty, reply: Empty }
  'identify-info': { args: PeerArgs, reply: IdentifyInfoReply }
  subscribe: { args: TopicArgs, reply: Empty }
  unsubscribe: { args: TopicArgs, reply: Empty }
  publish: { args: PublishArgs, reply: Empty }
  'topic-peers': { args: TopicArgs, reply: TopicPeersReply }
  announce: { args: AnnounceArgs, reply: AnnounceReply }
  'stream-counts': { args: Empty, reply: StreamCountsReply }
  'reset-counts': { args: Empty, reply: Empty }
  ping: { args: PingArgs, reply: PingReply }
  echo: { args: EchoArgs, reply: EchoReply }
  'batch-listen': { args: BatchListenArgs, reply: BatchListenReply }
  'batch-received': { args: BatchReceivedArgs, reply: BatchReceivedReply }
  'batch-send': { args: BatchSendArgs, reply: BatchSendReply }
  'batch-request': { args: BatchRequestArgs, reply: BatchRequestReply }
}

export type GoPeerCommand = keyof GoPeerCommands

/** The commands the go peer knows; any other is refused before it is sent */
export const GO_PEER_COMMANDS: readonly GoPeerCommand[] = ['connect', 'disconnect', 'close-conn', 'conns', 'addrs', 'reachability', 'exit', 'identify-info', 'subscribe', 'unsubscribe', 'publish', 'topic-peers', 'announce', 'stream-counts', 'reset-counts', 'ping', 'echo', 'batch-listen', 'batch-received', 'batch-send', 'batch-request']
