import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { PeerCache } from '../src/peer-cache.ts'

describe('peer cache', () => {
  const addrs = [multiaddr('/ip4/93.184.216.34/tcp/4001')]

  it('does not call a peer returned when the ttl shrinks after it was heard', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const cache = new PeerCache(10)

    // heard while the topic looked large (long ttl)
    expect(cache.heard(peer, addrs, 0, 100_000)).to.equal('new')

    // the estimate shrank (short ttl), but the peer is within the ttl it was heard with
    cache.prune(50_000, 10_000)
    expect(cache.live(50_000, 10_000)).to.equal(1)
    expect(cache.heard(peer, addrs, 50_000, 10_000)).to.equal('known')

    // past both ttls it has returned
    expect(cache.heard(peer, addrs, 200_000, 10_000)).to.equal('returned')
  })

  it('uses the current ttl when it grew', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const cache = new PeerCache(10)

    expect(cache.heard(peer, addrs, 0, 10_000)).to.equal('new')
    expect(cache.heard(peer, addrs, 50_000, 100_000)).to.equal('known')
    cache.prune(200_000, 100_000)
    expect(cache.size).to.equal(0)
  })

  it('is established when connected, or heard again settle ms later; evicts peers not established first', async () => {
    const [connected, twice, soon, once, extra] = await Promise.all(Array.from({ length: 5 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const cache = new PeerCache(4, 5_000)
    cache.heard(connected, addrs, 0, 100_000, false, true)
    cache.heard(twice, addrs, 0, 100_000)
    cache.heard(soon, addrs, 0, 100_000)
    cache.heard(once, addrs, 0, 100_000)
    cache.heard(twice, addrs, 5_000, 100_000)
    // too soon after the first: not established
    cache.heard(soon, addrs, 4_999, 100_000)
    expect(cache.established(5_000, 100_000)).to.equal(2)
    expect(cache.live(5_000, 100_000)).to.equal(4)

    // full: the least recently heard peer not established goes, though older ones are established
    cache.heard(extra, addrs, 6_000, 100_000)
    expect(cache.knows(once, 6_000, 100_000)).to.be.false()
    expect([connected, twice, soon, extra].map(p => cache.knows(p, 6_000, 100_000))).to.deep.equal([true, true, true, true])
  })

  it('a full cache drops peers past their ttl before a newcomer: established peers gone do not hold the places of live ones', async () => {
    const [gone1, gone2, newcomer] = await Promise.all(Array.from({ length: 3 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const cache = new PeerCache(2, 5_000)
    cache.heard(gone1, addrs, 0, 10_000, false, true)
    cache.heard(gone2, addrs, 0, 10_000, false, true)

    // both established, both silent for longer than the ttl, not pruned yet
    // (pruning follows our periodic announcement, which a large topic spaces out)
    expect(cache.heard(newcomer, addrs, 20_000, 10_000)).to.equal('new')
    expect(cache.knows(newcomer, 20_000, 10_000)).to.be.true()

    // so it can become established, and is no news when it announces again
    expect(cache.heard(newcomer, addrs, 25_000, 10_000)).to.equal('known')
    expect(cache.established(25_000, 10_000)).to.equal(1)
  })
})
