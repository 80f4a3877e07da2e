/**
 * The peer an address names: like libp2p, a circuit address names the peer
 * after its `/p2p-circuit`, never the relay before it.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { toDialTarget, withPeerId } from '../src/peer-address.ts'
import type { PeerId } from '@libp2p/interface'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('peer addresses', () => {
  it('takes no peer from a circuit address that names only its relay', async () => {
    const relay = await newPeerId()
    const target = toDialTarget(multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit`))

    expect(target.peer).to.be.undefined()
  })

  it('takes the peer after /p2p-circuit, not the relay', async () => {
    const relay = await newPeerId()
    const peer = await newPeerId()
    const target = toDialTarget(multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit/p2p/${peer}`))

    expect(target.peer?.equals(peer)).to.equal(true)
  })

  it('adds the peer id to a circuit address that names only its relay', async () => {
    const relay = await newPeerId()
    const peer = await newPeerId()
    const [addr] = withPeerId([multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit`)], peer)

    expect(addr.toString()).to.equal(`/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit/p2p/${peer}`)
  })

  it('takes the peer of a plain address', async () => {
    const peer = await newPeerId()

    expect(toDialTarget(multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${peer}`)).peer?.equals(peer)).to.equal(true)
  })
})
