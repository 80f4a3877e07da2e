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
})
