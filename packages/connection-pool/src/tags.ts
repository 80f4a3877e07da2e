/**
 * The peer-store tag that keeps the connection manager from pruning the
 * peers the pool keeps (`dial()`); borrowed peers are not tagged.
 */
import type { ConnectionPoolComponents } from './index.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { Logger } from '@libp2p/interface'

export class PeerTags {
  private readonly components: ConnectionPoolComponents
  private readonly log: Logger
  private readonly name: string
  private readonly value: number

  constructor (components: ConnectionPoolComponents, log: Logger, name: string, value: number) {
    this.components = components
    this.log = log
    this.name = name
    this.value = value
  }

  async tag (entry: PeerEntry): Promise<void> {
    if (entry.tagged) {
      return
    }

    entry.tagged = true
    await this.components.peerStore.merge(entry.peer, { tags: { [this.name]: { value: this.value } } })
      .catch(err => { this.log.error('could not tag %p: %e', entry.peer, err) })
  }

  async untag (entry: PeerEntry): Promise<void> {
    if (!entry.tagged) {
      return
    }

    entry.tagged = false
    await this.components.peerStore.merge(entry.peer, { tags: { [this.name]: undefined } })
      .catch(err => { this.log.error('could not untag %p: %e', entry.peer, err) })
  }
}
