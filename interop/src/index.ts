/**
 * @packageDocumentation
 *
 * Drives peer processes over JSON lines from TypeScript (`PeerProcess`): the
 * go-libp2p interop peer (`interop/go-peer`, built once per source version,
 * optionally inside a network namespace) and the NAT lab's js peer; sends
 * commands, awaits events, and always ends each process by its own pid.
 *
 * @example
 *
 * ```TypeScript
 * import { startGoPeer } from '@x/interop'
 *
 * const go = await startGoPeer({ args: ['-topics', 'news'] })
 * await go.command('connect', { addr: myAddr })
 * const opened = await go.waitFor('conn', e => e.event === 'open')
 * await go.stop()
 * ```
 */

export { buildGoPeer, GoPeerBuildError, GO_PEER_DIR } from './build.ts'
export { PeerProcess, PeerCommandError, PeerTimeoutError, UnknownCommandError, startPeerProcess } from './peer-process.ts'
export type { CommandMap, PeerEvent, StartPeerProcessOptions } from './peer-process.ts'
export { startGoPeer, startedPids, GoPeer, GoPeerCommandError, GoPeerTimeoutError } from './go-peer.ts'
export { GO_PEER_COMMANDS } from './control-protocol.ts'
export type * from './control-protocol.ts'
export type { GoPeerEvent, StartGoPeerOptions } from './go-peer.ts'
export { createJsNode } from './js-node.ts'
export type { CreateJsNodeOptions, JsNodeServices } from './js-node.ts'
export { sendAndReceiveAll } from './streams.ts'
export { goMissingReason, rootMissingReason, interopRequired, requireOrSkip, InteropRequirementError } from './requirements.ts'
export { waitFor, tcpAddr, randomBytes } from './util.ts'
