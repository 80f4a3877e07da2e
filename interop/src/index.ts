/**
 * @packageDocumentation
 *
 * Drives the go-libp2p interop peer (`interop/go-peer`) from TypeScript: builds
 * it once per source version, spawns it (optionally inside a network
 * namespace), sends JSON-line commands, awaits its events, and always ends it
 * by its own pid.
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
export { startGoPeer, startedPids, GoPeer, GoPeerCommandError, GoPeerTimeoutError } from './go-peer.ts'
export type { GoPeerEvent, StartGoPeerOptions } from './go-peer.ts'
export { createJsNode } from './js-node.ts'
export type { CreateJsNodeOptions, JsNodeServices } from './js-node.ts'
export { sendAndReceiveAll } from './streams.ts'
export { goMissingReason, rootMissingReason, interopRequired, requireOrSkip, InteropRequirementError } from './requirements.ts'
export { waitFor, tcpAddr, randomBytes } from './util.ts'
