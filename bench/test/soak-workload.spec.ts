/**
 * The soak's workload reports a batched send or request that never settles
 * as stalled (the soak's stall check), and one that failed as a loss with
 * the attempt it made.
 */
import { expect } from 'aegir/chai'
import { Ledger } from '../soak/lib/ledger.ts'
import { SoakWorkload } from '../soak/lib/workload.ts'
import type { Loss } from '../soak/lib/workload.ts'

/** Two js nodes whose batching `send` never settles and whose `request` fails at once */
function fakeNodes (): any[] {
  const ids = ['peer-a', 'peer-b'].map(id => ({ toString: () => id, equals: (o: any) => o?.toString() === id }))
  return ids.map((peerId, i) => ({
    peerId,
    getConnections: () => [{ remotePeer: ids[1 - i], limits: undefined }],
    services: {
      batching: {
        handle: () => {},
        send: async () => new Promise<void>(() => {}),
        request: async () => { throw Object.assign(new Error('the stream closed before the answer came'), { name: 'ResponseLostError' }) }
      },
      pool: { newStream: async () => { throw Object.assign(new Error('no connection'), { name: 'NoConnectionAvailableError' }) } }
    }
  }))
}

describe('soak workload', () => {
  it('a send that never settles is reported as stalled; a failed request is a loss with its attempt', async () => {
    const nodes = fakeNodes()
    const losses: Loss[] = []
    const workload = new SoakWorkload(nodes, {
      ledger: new Ledger({ batchPrefix: '/x/batch/' }),
      indexOf: (peer) => ['peer-a', 'peer-b'].indexOf(peer),
      echoProtocol: '/echo/1.0.0',
      bulkProtocol: '/bulk',
      note: 'note',
      ask: 'ask',
      interval: 20,
      attemptTimeout: 100,
      attempts: 1,
      requestTimeout: 100,
      onLoss: (loss) => { losses.push(loss) }
    })
    workload.start()

    while (losses.filter(l => l.kind === 'request').length === 0 || workload.pendingItems().filter(p => p.kind === 'message').length === 0) {
      await new Promise(resolve => setTimeout(resolve, 10))
    }

    // long enough for the failed echoes to finish their retry delay: what is left never settles
    const stalled = await workload.stop(600)
    expect(stalled.length).to.be.above(0)
    expect(stalled.every(p => p.kind === 'message')).to.equal(true)
    const request = losses.find(l => l.kind === 'request')
    expect(request?.error).to.equal('ResponseLostError: the stream closed before the answer came')
    expect(request?.attempts).to.have.lengthOf(1)
    // the batching streams it could have run on are unknown here: nothing explains it
    expect(request?.attempts[0].connection).to.equal(undefined)
    expect(workload.totals.messages).to.equal(0)
  })
})
