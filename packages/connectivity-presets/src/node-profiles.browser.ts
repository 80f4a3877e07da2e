/**
 * In a browser build the Node profiles are not bundled: asking for one
 * throws `UnsupportedProfileError`.
 */
import { UnsupportedProfileError } from './errors.ts'
import type { PresetServices } from './index.ts'
import type { ProfileInit } from './profiles/discovery.ts'
import type { Libp2pOptions } from 'libp2p'

function nodeOnly (profile: string): (init: ProfileInit) => Libp2pOptions<PresetServices> {
  return () => {
    throw new UnsupportedProfileError(`the ${profile} profile needs Node (TCP, QUIC, mDNS); use the browser profile in a browser`)
  }
}

export const development = nodeOnly('development')
export const privateNetwork = nodeOnly('private')
export const server = nodeOnly('server')
