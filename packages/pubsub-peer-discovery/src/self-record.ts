/**
 * Our own signed peer record, sealed again whenever the addresses we
 * announce change. Sealing signs, which is asynchronous: an announcement
 * made before the record of its addresses is ready goes out without one.
 */
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export class SelfRecord {
  private readonly peerId: PeerId
  private readonly privateKey: PrivateKey
  private readonly log: Logger
  private sealed?: { key: string, bytes: Uint8Array }
  private sealing?: string
  /** Settles when the record being sealed is (or failed) */
  private pending: Promise<void> = Promise.resolve()
  private seq = 0n

  constructor (peerId: PeerId, privateKey: PrivateKey, log: Logger) {
    this.peerId = peerId
    this.privateKey = privateKey
    this.log = log
  }

  /** The record of exactly these addresses, if sealed; starts sealing it if not */
  current (multiaddrs: Multiaddr[]): Uint8Array | undefined {
    const key = multiaddrs.map(ma => ma.toString()).join(',')

    if (this.sealed?.key === key) {
      return this.sealed.bytes
    }

    this.seal(key, multiaddrs)
    return undefined
  }

  /** Settles once the record being sealed, if any, is sealed (or failed) */
  async whenSealed (): Promise<void> {
    await this.pending
  }

  clear (): void {
    this.sealed = undefined
    this.sealing = undefined
  }

  private seal (key: string, multiaddrs: Multiaddr[]): void {
    if (this.sealing === key) {
      return
    }

    this.sealing = key
    // increasing across restarts too, as receivers keep the highest
    const now = BigInt(Date.now())
    this.seq = now > this.seq ? now : this.seq + 1n
    const record = new PeerRecord({ peerId: this.peerId, multiaddrs, seqNumber: this.seq })

    this.pending = RecordEnvelope.seal(record, this.privateKey)
      .then(envelope => {
        if (this.sealing === key) {
          this.sealed = { key, bytes: envelope.marshal() }
          this.sealing = undefined
        }
      }, err => {
        this.sealing = undefined
        this.log.error('could not seal our peer record - %e', err)
      })
  }
}
