/**
 * The slice of a pubsub service this module uses, and how it is found: the
 * one service that declares the `@libp2p/pubsub` capability, whatever key
 * it was registered under (`pubsubServiceName` names one instead, see
 * discovery.ts).
 */
import { serviceCapabilities } from '@libp2p/interface'
import { LIBP2P_CAPABILITIES } from '@x/interface'
import { PubSubNotFoundError } from './errors.ts'
import type { PeerId, PublicKey } from '@libp2p/interface'

export interface PubSubMessage {
  type: 'signed' | 'unsigned'
  topic: string
  data: Uint8Array
  /** The author, on signed messages */
  from?: PeerId
  key?: PublicKey
}

export interface PubSubLike {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
  getSubscribers(topic: string): PeerId[]
  addEventListener(type: 'message' | 'subscription-change', listener: (evt: CustomEvent<any>) => void): void
  removeEventListener(type: 'message' | 'subscription-change', listener: (evt: CustomEvent<any>) => void): void
}

function offersPubSub (service: any): service is PubSubLike {
  return Array.isArray(service?.[serviceCapabilities]) && service[serviceCapabilities].includes(LIBP2P_CAPABILITIES.pubsub)
}

/**
 * libp2p keeps its services in `components.components`; the lookup goes by
 * capability so gossipsub may be registered under any key.
 */
export function findPubSub (components: any): PubSubLike {
  const registered: Record<string, unknown> = components?.components ?? {}

  for (const service of Object.values(registered)) {
    if (offersPubSub(service)) {
      return service
    }
  }

  throw new PubSubNotFoundError(`No service offers the ${LIBP2P_CAPABILITIES.pubsub} capability: add gossipsub to the node's services`)
}
