/**
 * Holds that end together (peers behind one address refused in the same
 * burst) start their top-ups in the same maintenance tick: they run at once,
 * and `maxConnections` must bound what their dials in flight add up to, not
 * only what is open when each one looks.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { isPeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import sinon from 'sinon'
import { REFUSAL_HOLD_START } from '../src/constants.ts'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import type { PeerId } from '@libp2p/interface'

const MAINTENANCE_INTERVAL = 1_000
const DIAL_TIME = 50

describe('top-ups when several holds end at once', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })

  afterEach(() => {
    clock.restore()
  })

  it('open no more than maxConnections together', async () => {
    const peers: PeerId[] = []

    for (let i = 0; i < 3; i++) {
      peers.push(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    }

    const harness = createHarness(peers[0], { maxConnectionsPerPeer: 3, maxConnections: 4, maintenanceInterval: MAINTENANCE_INTERVAL })
    let burst = true
    harness.connectionManager.openConnection.callsFake(async (target: any) => {
      const peer: PeerId = isPeerId(target) ? target : peers[0]
      // a dial takes a moment: the others start meanwhile
      await new Promise(resolve => setTimeout(resolve, DIAL_TIME))

      if (burst && harness.open.some(conn => conn.remotePeer.equals(peer))) {
        throw Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' })
      }

      const conn = fakeConnection(peer, harness.open, harness.events)
      harness.open.push(conn)
      harness.events.safeDispatchEvent('connection:open', { detail: conn })
      return conn
    })

    for (const peer of peers) {
      const dialled = harness.pool.dial(peer)
      await clock.tickAsync(2 * DIAL_TIME)
      expect(await dialled).to.have.lengthOf(1)
    }

    expect(harness.pool.getMetrics()).to.include({ connections: 3, dialRefusals: 3 })

    // the burst is over; the holds end in the same maintenance tick
    burst = false
    await clock.tickAsync(REFUSAL_HOLD_START + 2 * MAINTENANCE_INTERVAL)

    expect(harness.pool.getMetrics().connections).to.equal(4)
    expect(harness.open).to.have.lengthOf(4)
    await harness.pool.stop()
  })
})
