import { expect } from 'aegir/chai'
import { securityRole } from '../src/service.ts'

/**
 * go-libp2p >= 0.41 (p2p/protocol/holepunch): the initiator dials with
 * isClient=false on attempts 1 and 2 and true on attempt 3; the receiver
 * always dials with isClient=true. We take the other side of each.
 */
describe('security roles after a simultaneous open', () => {
  it('initiator: server while go\'s receiver is the client, client on the third attempt', () => {
    expect([1, 2, 3].map(a => securityRole('initiator', a))).to.deep.equal(['server', 'server', 'client'])
  })

  it('receiver: client while go\'s initiator is the server, server on its third attempt', () => {
    expect([1, 2, 3].map(a => securityRole('receiver', a))).to.deep.equal(['client', 'client', 'server'])
  })

  it('decision: attempt 3 switches as go-libp2p does, so js <-> js and go initiators match on every attempt and go (>= 0.41) receivers on attempts 1 and 2 only', () => {
    const attempts = [1, 2, 3]
    const goInitiator = (attempt: number): string => attempt === 3 ? 'client' : 'server'
    const goReceiver = (): string => 'client'

    expect(attempts.filter(a => securityRole('receiver', a) !== goInitiator(a))).to.deep.equal([1, 2, 3])
    expect(attempts.filter(a => securityRole('initiator', a) !== securityRole('receiver', a))).to.deep.equal([1, 2, 3])
    // client/client on attempt 3, as go <-> go: that attempt serves receivers older than go 0.41
    expect(attempts.filter(a => securityRole('initiator', a) !== goReceiver())).to.deep.equal([1, 2])
  })
})
