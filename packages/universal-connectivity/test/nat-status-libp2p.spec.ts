/**
 * The NAT status against libp2p's real address manager on loopback, driven
 * through the calls identify and AutoNAT make (`addObservedAddr`,
 * `confirmObservedAddr`, `removeObservedAddr`): loopback peers cannot run
 * AutoNAT for real (it skips private addresses and needs peers in distinct
 * /8 networks); the NAT lab does that.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { universalConnectivity } from '../src/index.ts'
import type { UniversalConnectivity } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { NatStatusChange } from '@x/interface'

describe('NAT status from libp2p\'s address manager', function () {
  this.timeout(20_000)
  let node: Libp2p<{ connectivity: UniversalConnectivity }>
  let addressManager: AddressManager

  beforeEach(async () => {
    node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        connectivity: universalConnectivity({ natCheckInterval: 100 })
      }
    })
    addressManager = (node as any).components.addressManager
  })

  afterEach(async () => {
    await node?.stop()
  })

  const nextStatus = async (): Promise<NatStatusChange> => (await pEvent<'connectivity:nat-status', CustomEvent<NatStatusChange>>(node, 'connectivity:nat-status', { timeout: 5_000 })).detail

  it('turns public when AutoNAT confirms an observed address', async () => {
    expect(node.services.connectivity.getNatStatus()).to.equal('unknown')
    const observed = multiaddr('/ip4/15.0.0.10/udp/4001/quic-v1')
    addressManager.addObservedAddr(observed)
    const status = nextStatus()
    addressManager.confirmObservedAddr(observed)
    const change = await status
    expect(change).to.include({ previous: 'unknown', status: 'public' })
    expect(change.reason).to.include('/ip4/15.0.0.10/udp/4001/quic-v1')
  })

  it('turns private when AutoNAT removes an observed address it could not dial, though libp2p says nothing', async () => {
    const observed = multiaddr('/ip4/16.0.0.1/udp/4001/quic-v1')
    addressManager.addObservedAddr(observed)
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(node.services.connectivity.getNatStatus()).to.equal('unknown')

    let updates = 0
    node.addEventListener('self:peer:update', () => { updates++ })
    const status = nextStatus()
    addressManager.removeObservedAddr(observed)
    const change = await status
    expect(updates).to.equal(0)
    expect(change).to.include({ previous: 'unknown', status: 'private' })
    expect(change.reason).to.include('AutoNAT could not dial').and.include('/ip4/16.0.0.1/udp/4001/quic-v1')
  })
})
