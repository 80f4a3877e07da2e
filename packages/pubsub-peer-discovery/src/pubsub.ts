/**
 * The slice of a pubsub service this module uses, and how it is found.
 *
 * `publish` may return a Promise or nothing (the official module's
 * interface allows `void`), or throw: `publishSafely` treats all three.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { LIBP2P_CAPABILITIES } from '@x/interface'
import { NoRecipientsError, PubSubNotFoundError } from './errors.ts'
import type { PeerId, PublicKey } from '@libp2p/interface'

export interface PubSubMessage {
  type: 'signed' | 'unsigned'
  topic: string
  data: Uint8Array
  /** The author, on signed messages */
  from?: PeerId
  key?: PublicKey
  /** gossipsub's sequence number, on signed messages */
  sequenceNumber?: bigint
}

export interface PubSubLike {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): unknown
  getSubscribers(topic: string): PeerId[]
  addEventListener(type: 'message' | 'subscription-change', listener: (evt: CustomEvent<any>) => void): void
  removeEventListener(type: 'message' | 'subscription-change', listener: (evt: CustomEvent<any>) => void): void
}

/** The key the official module reads its pubsub service from */
export const DEFAULT_PUBSUB_SERVICE_NAME = 'pubsub'

function isPubSub (service: any): service is PubSubLike {
  return service != null && typeof service.subscribe === 'function' && typeof service.publish === 'function' &&
    typeof service.getSubscribers === 'function' && typeof service.addEventListener === 'function'
}

function offersPubSub (service: any): service is PubSubLike {
  return isPubSub(service) && Array.isArray((service as any)[serviceCapabilities]) && (service as any)[serviceCapabilities].includes(LIBP2P_CAPABILITIES.pubsub)
}

/** A named component; libp2p's components object throws for missing ones */
function component (components: any, name: string): unknown {
  try {
    return components?.[name]
  } catch {
    return undefined
  }
}

/**
 * The pubsub service: the component named `name` (by default `pubsub`, the
 * official module's key), else the one that declares the `@libp2p/pubsub`
 * capability among the components (hand-built components list their
 * services as properties).
 *
 * libp2p 3's components object is a proxy whose services cannot be listed
 * through it; for a pubsub registered under another key without
 * `pubsubServiceName`, its `components` registry is searched, as the last
 * resort.
 */
export function findPubSub (components: any, name?: string): PubSubLike {
  const named = component(components, name ?? DEFAULT_PUBSUB_SERVICE_NAME)

  if (isPubSub(named)) {
    return named
  }

  if (name != null) {
    throw new PubSubNotFoundError(`No pubsub service is registered as "${name}"`)
  }

  const candidates: unknown[] = Object.keys(components ?? {}).map(key => component(components, key))
  const registry = component(components, 'components')

  if (registry != null && typeof registry === 'object' && !isPubSub(registry)) {
    candidates.push(...Object.values(registry))
  }

  const found = candidates.find(offersPubSub)

  if (found == null) {
    throw new PubSubNotFoundError(`No service offers the ${LIBP2P_CAPABILITIES.pubsub} capability: add gossipsub to the node's services`)
  }

  return found
}

/**
 * Calls `publish` and reports a failure through `onError`, whether it
 * throws, returns a rejected Promise, or returns anything else (no Promise
 * is fine): nothing escapes. A publish that resolves with no recipients
 * (gossipsub's answer when none of the subscribers it knows has an
 * outbound stream yet) is a failure too
 */
export function publishSafely (pubsub: PubSubLike, topic: string, data: Uint8Array, onError: (err: unknown) => void): void {
  try {
    const result: any = pubsub.publish(topic, data)

    if (result != null && typeof result.then === 'function') {
      result.then((value: any) => {
        if (Array.isArray(value?.recipients) && value.recipients.length === 0) {
          onError(new NoRecipientsError(`Nobody subscribed to ${topic} could be sent the message`))
        }
      }, onError)
    }
  } catch (err) {
    onError(err)
  }
}
