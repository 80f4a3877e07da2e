/**
 * The refusal holds left by peers the pool no longer manages are bounded:
 * at most `MAX_REFUSAL_HOLDS`, the oldest refusal forgotten first; a hold
 * that has ended restores its streak but not the lowered target, and one
 * whose streak is forgotten (`REFUSAL_STREAK_MEMORY` after its hold)
 * restores nothing.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { MAX_REFUSAL_HOLDS, REFUSAL_HOLD, REFUSAL_STREAK_MEMORY } from '../src/constants.ts'
import { createPeerEntry } from '../src/peer-entry.ts'
import { RefusalHolds } from '../src/refusal-holds.ts'
import type { PeerEntry } from '../src/peer-entry.ts'
import type { PeerId } from '@libp2p/interface'

function refusedEntry (peer: PeerId, refusedAt: number, target: number, hold = REFUSAL_HOLD): PeerEntry {
  const entry = createPeerEntry(peer, 1, refusedAt)
  entry.refusal = { at: refusedAt, hold, accepted: target, lowered: true }
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
    expect(first.refusal).to.be.undefined()
    expect(first.target).to.equal(1)

    const last = createPeerEntry(peers[peers.length - 1], 1, 5_000)
    holds.restore(last, 5_000)
    expect(last.refusal?.at).to.equal(1_000 + peers.length - 1)
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
    expect(newest.refusal?.at).to.equal(now - 1)

    const oldest = createPeerEntry(peers[1], 1, now)
    holds.restore(oldest, now)
    expect(oldest.refusal).to.be.undefined()
  })

  it('restores the streak but not the lowered target once the hold has ended', async () => {
    const holds = new RefusalHolds()
    const hold = 6_000
    holds.keep(refusedEntry(peers[0], 0, 2, hold), 1)

    const entry = createPeerEntry(peers[0], 1, hold)
    holds.restore(entry, hold)
    expect(entry.refusal).to.deep.include({ at: 0, hold, accepted: 2 })
    expect(entry.target).to.equal(1)
    expect(holds.size).to.equal(0)
  })

  it('restores nothing once the streak is forgotten, and keeps no forgotten streak', async () => {
    const holds = new RefusalHolds()
    const forgotten = REFUSAL_HOLD + REFUSAL_STREAK_MEMORY
    holds.keep(refusedEntry(peers[0], 0, 2), forgotten)
    expect(holds.size).to.equal(0)

    holds.keep(refusedEntry(peers[1], 0, 2), 1)
    const entry = createPeerEntry(peers[1], 1, forgotten)
    holds.restore(entry, forgotten)
    expect(entry.refusal).to.be.undefined()
    expect(entry.target).to.equal(1)
    expect(holds.size).to.equal(0)
  })
})
