/**
 * The go-libp2p interop peer (`interop/go-peer`): built once per source
 * version, spawned (optionally inside a network namespace) and driven as a
 * `PeerProcess`. `GoPeer` and its error names stay as aliases, so the specs
 * that know them keep compiling.
 */
import { buildGoPeer } from './build.ts'
import { GO_PEER_COMMANDS } from './control-protocol.ts'
import { PeerCommandError, PeerProcess, PeerTimeoutError, startPeerProcess } from './peer-process.ts'
import type { GoPeerCommands } from './control-protocol.ts'
import type { PeerEvent } from './peer-process.ts'

export { startedPids } from './peer-process.ts'

/** The class that drives the go peer (and any peer process): `PeerProcess` */
export const GoPeer = PeerProcess
/** A go peer: its commands typed by its schema (`go-peer/control-protocol.json`) */
// eslint-disable-next-line @typescript-eslint/no-redeclare
export type GoPeer = PeerProcess<GoPeerCommands>
export { PeerCommandError as GoPeerCommandError, PeerTimeoutError as GoPeerTimeoutError }

export type GoPeerEvent = PeerEvent

export interface StartGoPeerOptions {
  /** Extra flags for the go peer */
  args?: string[]

  /** Private key file (protobuf-marshalled libp2p key), so the peer id is known in advance */
  keyFile?: string

  /** Run inside this network namespace (`ip netns exec`) */
  netns?: string

  /** The go peer's own overall timeout, after which it exits by itself */
  timeoutMs?: number

  /** How long to wait for the `ready` event */
  readyTimeoutMs?: number

  /** Prefix for the go peer's stderr lines (only printed with DEBUG_GO_PEER=1) */
  name?: string
}

/** Build (if needed) and start a go peer, resolving once it is ready; commands outside its schema are refused */
export async function startGoPeer (options: StartGoPeerOptions = {}): Promise<PeerProcess<GoPeerCommands>> {
  const binary = await buildGoPeer()
  const args = [
    '-timeout', `${Math.round((options.timeoutMs ?? 180_000) / 1000)}s`,
    ...(options.keyFile != null ? ['-key', options.keyFile] : []),
    ...(options.args ?? [])
  ]
  const [command, argv] = options.netns != null
    ? ['ip', ['netns', 'exec', options.netns, binary, ...args]]
    : [binary, args]

  return startPeerProcess<GoPeerCommands>({ command, args: argv, name: options.name ?? 'go-peer', readyTimeoutMs: options.readyTimeoutMs, commands: GO_PEER_COMMANDS })
}
