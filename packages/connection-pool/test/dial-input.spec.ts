/**
 * What `dial` and `newStream` accept (issue 12, item 0): what `libp2p.dial`
 * accepts (`PeerId | Multiaddr | Multiaddr[]`), anything else rejected with
 * a named error, and no input turns the pool into a dialling loop.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { COUNT_PROTOCOL, createClient, createRemote, waitUntil } from './fixtures/nodes.ts'
import type { Remote } from './fixtures/nodes.ts'
import type { ConnectionPool } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

async function settledWithin <T> (promise: Promise<T>, ms: number): Promise<{ value?: T, error?: any, settled: boolean }> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<{ settled: false }>(resolve => { timer = setTimeout(() => { resolve({ settled: false }) }, ms) })

  try {
    return await Promise.race([
      promise.then(value => ({ value, settled: true }), error => ({ error, settled: true })),
      timeout
    ])
  } finally {
    clearTimeout(timer)
  }
}

describe('dial and newStream inputs', function () {
  this.timeout(60_000)
  let remote: Remote
  let other: Remote | undefined
  let client: Libp2p<{ pool: ConnectionPool }>

  beforeEach(async () => {
    remote = await createRemote()
    await remote.node.start()
    client = await createClient({ maxConnectionsPerPeer: 3, minConnectionsPerPeer: 1 })
    await client.start()
  })

  afterEach(async () => {
    await client?.stop()
    await remote?.node.stop()
    await other?.node.stop()
    other = undefined
  })

  it('dial(multiaddr with /p2p/) opens 3 connections and resolves, with no dialling loop', async () => {
    const addr = remote.node.getMultiaddrs()[0]
    expect(addr.getComponents().some(c => c.name === 'p2p')).to.be.true()

    const result = await settledWithin(client.services.pool.dial(addr), 5_000)
    expect(result.settled, `dial(multiaddr) did not settle within 5 s; the remote holds ${remote.node.getConnections(client.peerId).length} connections from us`).to.be.true()
    expect(result.error).to.equal(undefined)
    expect(result.value).to.have.lengthOf(3)

    // and nothing keeps dialling afterwards
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(remote.node.getConnections(client.peerId)).to.have.lengthOf(3)
    expect(client.services.pool.getMetrics().dialAttempts).to.equal(3)
    expect(client.services.pool.getStatus(remote.node.peerId)).to.equal('connected')
  })

  it('dial(multiaddr without a peer id) learns the peer from the first connection', async () => {
    const addr = multiaddr(remote.node.getMultiaddrs()[0].toString().replace(/\/p2p\/.*$/, ''))
    const conns = await client.services.pool.dial(addr)

    expect(conns).to.have.lengthOf(3)
    expect(conns.every(c => c.remotePeer.equals(remote.node.peerId))).to.be.true()
    expect(client.services.pool.getStatus(remote.node.peerId)).to.equal('connected')
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(remote.node.getConnections(client.peerId)).to.have.lengthOf(3)
  })

  it('concurrent dial() and newStream() with one address without a peer id end with maxConnectionsPerPeer connections', async () => {
    const addr = multiaddr(remote.node.getMultiaddrs()[0].toString().replace(/\/p2p\/.*$/, ''))
    const [a, b, stream] = await Promise.all([
      client.services.pool.dial(addr),
      client.services.pool.dial(addr),
      client.services.pool.newStream(addr, COUNT_PROTOCOL)
    ])
    await stream.close()

    expect(a).to.have.lengthOf(3)
    expect(b).to.have.lengthOf(3)
    await waitUntil(() => remote.node.getConnections(client.peerId).length === 3)
    expect(client.services.pool.getMetrics().dialAttempts).to.equal(3)
  })

  it('dial(multiaddr[]) with one peer id, and newStream(multiaddr)', async () => {
    const conns = await client.services.pool.dial(remote.node.getMultiaddrs())
    expect(conns).to.have.lengthOf(3)

    const stream = await client.services.pool.newStream(remote.node.getMultiaddrs()[0], COUNT_PROTOCOL)
    await stream.close()
    await waitUntil(() => [...remote.streamsPerConnection.values()].reduce((a, b) => a + b, 0) === 1)
    expect(remote.node.getConnections(client.peerId)).to.have.lengthOf(3)
  })

  it('newStream(multiaddr) to a peer the pool does not know dials it once', async () => {
    const stream = await client.services.pool.newStream(remote.node.getMultiaddrs()[0], COUNT_PROTOCOL)
    await stream.close()
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(remote.node.getConnections(client.peerId)).to.have.lengthOf(1)
  })

  it('multiaddrs whose /p2p/ ids disagree are rejected with InvalidParametersError', async () => {
    other = await createRemote()
    await other.node.start()
    const mixed = [remote.node.getMultiaddrs()[0], other.node.getMultiaddrs()[0]]

    await expect(client.services.pool.dial(mixed)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    await expect(client.services.pool.newStream(mixed, COUNT_PROTOCOL)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    expect(client.getConnections()).to.have.lengthOf(0)
  })

  Object.entries({
    'a string': '/ip4/127.0.0.1/tcp/1',
    'a number': 42,
    null: null,
    undefined,
    'an empty list': [],
    'a list with a non-multiaddr': ['/ip4/127.0.0.1/tcp/1'],
    'a plain object': { toString: () => '12D3KooW' }
  }).forEach(([name, input]) => {
    it(`rejects ${name} with InvalidParametersError and dials nothing`, async () => {
      await expect(client.services.pool.dial(input as any)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
      await expect(client.services.pool.newStream(input as any, COUNT_PROTOCOL)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
      expect(client.services.pool.getMetrics()).to.include({ peers: 0, dialAttempts: 0 })
    })
  })
})
