/**
 * libp2p aborts a dial to one address after its `addressDialTimeout` (6 s)
 * while the pool's own `dialTimeout` (10 s) still runs; a handshake that
 * stalls that long then fails as the upgrader rewraps it, keeping only the
 * message: `EncryptionFailedError: The operation was aborted due to
 * timeout` (seen with a real node behind a proxy that accepts and never
 * answers). That is a slow remote, not a refusal: the target stays.
 */
import net from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createHarness, fakeConnection } from './fixtures/harness.ts'
import { createClient, createRemote } from './fixtures/nodes.ts'
import type { Harness } from './fixtures/harness.ts'
import type { Remote } from './fixtures/nodes.ts'
import type { ConnectionPool } from '../src/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** What libp2p 3.3's upgrader throws when the address's timeout aborts a handshake (or muxer selection) */
const WRAPPED_TIMEOUTS = [
  Object.assign(new Error('The operation was aborted due to timeout'), { name: 'EncryptionFailedError' }),
  Object.assign(new Error('TimeoutError: The operation was aborted due to timeout'), { name: 'MuxerUnavailableError' }),
  Object.assign(new Error('The operation was aborted'), { name: 'EncryptionFailedError' })
]

/** The remote's handshake of any connection after the first fails with `error` */
function failExtraDials (harness: Harness, peer: PeerId, error: Error): void {
  harness.connectionManager.openConnection.callsFake(async () => {
    if (harness.open.length >= 1) {
      throw error
    }

    const conn = fakeConnection(peer, harness.open, harness.events)
    harness.open.push(conn)
    harness.events.safeDispatchEvent('connection:open', { detail: conn })
    return conn
  })
}

describe('an extra dial whose handshake libp2p timed out', () => {
  for (const error of WRAPPED_TIMEOUTS) {
    it(`is not a refusal: ${error.name}: ${error.message}`, async () => {
      const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const harness = createHarness(peer, { maxConnectionsPerPeer: 2 })
      failExtraDials(harness, peer, error)

      expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
      expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 0 })

      // the target was not lowered: the next dial() asks again
      expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
      expect(harness.pool.getMetrics()).to.include({ dialAttempts: 3, dialRefusals: 0 })
      await harness.pool.stop()
    })
  }

  it('a reset during the handshake still is one', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const harness = createHarness(peer, { maxConnectionsPerPeer: 2 })
    failExtraDials(harness, peer, Object.assign(new Error('read ECONNRESET'), { name: 'EncryptionFailedError' }))

    expect(await harness.pool.dial(peer)).to.have.lengthOf(1)
    expect(harness.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 1 })
    await harness.pool.stop()
  })
})

describe('an extra dial whose handshake stalls (real nodes)', function () {
  this.timeout(60_000)
  let remote: Remote
  let client: Libp2p<{ pool: ConnectionPool }>
  let proxy: net.Server
  const sockets: net.Socket[] = []

  beforeEach(async () => {
    remote = await createRemote()
    await remote.node.start()
    client = await createClient({ maxConnectionsPerPeer: 2 })
    await client.start()

    // forwards the first connection to the remote; accepts the others and never answers
    const [, , host, , port] = remote.node.getMultiaddrs()[0].toString().split('/')
    let accepted = 0
    proxy = net.createServer(socket => {
      socket.on('error', () => {})
      sockets.push(socket)

      if (accepted++ === 0) {
        const upstream = net.connect(Number(port), host)
        upstream.on('error', () => {})
        sockets.push(upstream)
        socket.pipe(upstream).pipe(socket)
      }
    })
    await new Promise<void>(resolve => { proxy.listen(0, '127.0.0.1', resolve) })
  })

  afterEach(async () => {
    await client?.stop()
    await remote?.node.stop()
    sockets.forEach(socket => { socket.destroy() })
    proxy?.close()
  })

  it('is not a refusal when libp2p times the address out before the pool does', async () => {
    const { port } = proxy.address() as net.AddressInfo
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${remote.node.peerId}`)

    // libp2p's addressDialTimeout (6 s) ends the stalled handshake, below the pool's dialTimeout (10 s)
    expect(await client.services.pool.dial(addr)).to.have.lengthOf(1)
    expect(client.services.pool.getMetrics()).to.include({ dialAttempts: 2, dialRefusals: 0 })
  })
})
