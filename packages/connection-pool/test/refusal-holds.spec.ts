/**
 * The refusal holds left by peers the pool no longer manages are bounded:
 * at most `MAX_REFUSAL_HOLDS`, the oldest refusal forgotten first, and a
 * hold past `REFUSAL_HOLD` restores nothing.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { MAX_REFUSAL_HOLDS, REFUSAL_HOLD } from '../src/constants.ts'
import { createPeerEntry } from '../src/peer-entry.ts'
import { RefusalHolds } from '../src/refusal-holds.ts'
import type { PeerEntry } from '../src/peer-entry.ts'
import type { PeerId } from '@libp2p/interface'

function refusedEntry (peer: PeerId, refusedAt: number, target: number): PeerEntry {
  const entry = createPeerEntry(peer, 1, refusedAt)
  entry.refusedAt = refusedAt
  entry.target = target
  return entry
}

describe('refusal holds', () => {
  let peers: PeerId[]

  before(async () => {
    peers = await Promise.all(Array.from({ length: MAX_REFUSAL_HOLDS + 1 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })

  it(`keeps at most ${MAX_REFUSAL_HOLDS}, forgetting the oldest refusal first`, async () => {
    const holds = new RefusalHolds()

    for (let i = 0; i < peers.length; i++) {
      holds.keep(refusedEntry(peers[i], 1_000 + i, 2), 1_000 + i)
    }

    expect(holds.size).to.equal(MAX_REFUSAL_HOLDS)

    const first = createPeerEntry(peers[0], 1, 5_000)
    holds.restore(first, 5_000)
    expect(first.refusedAt).to.be.undefined()
    expect(first.target).to.equal(1)

    const last = createPeerEntry(peers[peers.length - 1], 1, 5_000)
    holds.restore(last, 5_000)
    expect(last.refusedAt).to.equal(1_000 + peers.length - 1)
    expect(last.target).to.equal(2)
    expect(holds.size).to.equal(MAX_REFUSAL_HOLDS - 1)
  })

  it('forgets the oldest refusal when full, not the peer released first', async () => {
    const holds = new RefusalHolds()
    const now = 10 * 60_000

    // the first peer released refused last; the second released refused first
    holds.keep(refusedEntry(peers[0], now - 1, 2), now)
    holds.keep(refusedEntry(peers[1], now - 5_000, 2), now)

    for (let i = 2; i < MAX_REFUSAL_HOLDS; i++) {
      holds.keep(refusedEntry(peers[i], now - 2, 2), now)
    }

    holds.keep(refusedEntry(peers[MAX_REFUSAL_HOLDS], now - 3, 2), now)
    expect(holds.size).to.equal(MAX_REFUSAL_HOLDS)

    const newest = createPeerEntry(peers[0], 1, now)
    holds.restore(newest, now)
    expect(newest.refusedAt).to.equal(now - 1)

    const oldest = createPeerEntry(peers[1], 1, now)
    holds.restore(oldest, now)
    expect(oldest.refusedAt).to.be.undefined()
  })

  it('restores nothing once REFUSAL_HOLD has passed, and keeps no expired refusal', async () => {
    const holds = new RefusalHolds()
    holds.keep(refusedEntry(peers[0], 0, 2), REFUSAL_HOLD)
    expect(holds.size).to.equal(0)

    holds.keep(refusedEntry(peers[1], 0, 2), 1)
    const entry = createPeerEntry(peers[1], 1, REFUSAL_HOLD)
    holds.restore(entry, REFUSAL_HOLD)
    expect(entry.refusedAt).to.be.undefined()
    expect(entry.target).to.equal(1)
    expect(holds.size).to.equal(0)
  })
})
