/**
 * A js-libp2p node configured like the go peer: TCP, noise (and TLS), yamux,
 * identify, ping and `/echo/1.0.0`, listening on loopback.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { echo } from '@libp2p/echo'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { createLibp2p } from 'libp2p'
import type { Echo } from '@libp2p/echo'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Libp2pOptions } from 'libp2p'

export interface JsNodeServices {
  identify: Identify
  ping: Ping
  echo: Echo
  [key: string]: unknown
}

export interface CreateJsNodeOptions {
  listen?: string[]
  privateKey?: PrivateKey
  /** Which connection encrypters, in order of preference */
  encrypters?: Array<'noise' | 'tls'>
  /** Anything else to merge into the libp2p options */
  overrides?: Partial<Libp2pOptions<JsNodeServices>>
}

export async function createJsNode (options: CreateJsNodeOptions = {}): Promise<Libp2p<JsNodeServices>> {
  const encrypters = (options.encrypters ?? ['noise', 'tls']).map(name => name === 'noise' ? noise() : tls())

  return createLibp2p<JsNodeServices>({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0']
    },
    transports: [tcp()],
    connectionEncrypters: encrypters,
    streamMuxers: [yamux()],
    ...options.overrides,
    services: {
      identify: identify(),
      ping: ping(),
      echo: echo({ timeout: 60_000 }),
      ...options.overrides?.services
    } as any
  })
}
