import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { expect } from 'aegir/chai'
import { FaultProxy } from '../src/index.ts'
import type { Server, Socket } from 'node:net'

async function echoServer (): Promise<Server> {
  const server = createServer(socket => { socket.pipe(socket) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

function portOf (server: Server): number {
  const address = server.address()
  if (address == null || typeof address === 'string') {
    throw new Error('not listening')
  }
  return address.port
}

async function dial (port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  await once(socket, 'connect')
  return socket
}

async function roundTrip (socket: Socket, bytes: Buffer): Promise<number> {
  const start = performance.now()
  let received = 0
  const done = new Promise<void>(resolve => {
    const onData = (chunk: Buffer): void => {
      received += chunk.byteLength
      if (received >= bytes.byteLength) {
        socket.off('data', onData)
        resolve()
      }
    }
    socket.on('data', onData)
  })
  socket.write(bytes)
  await done
  return performance.now() - start
}

describe('FaultProxy', () => {
  let server: Server
  let proxy: FaultProxy

  beforeEach(async () => {
    server = await echoServer()
    proxy = new FaultProxy({ target: { port: portOf(server) } })
    await proxy.start()
  })

  afterEach(async () => {
    await proxy.stop()
    server.close()
  })

  it('rejects an invalid target and invalid faults', () => {
    expect(() => new FaultProxy({ target: { port: 0 } })).to.throw(RangeError)
    expect(() => { proxy.setLatency(-1) }).to.throw(RangeError)
    expect(() => { proxy.setBandwidth(0) }).to.throw(RangeError)
  })

  it('forwards bytes unchanged and counts them', async () => {
    const socket = await dial(proxy.port)
    const payload = Buffer.alloc(256 * 1024, 7)
    await roundTrip(socket, payload)
    expect(proxy.stats.bytesUp).to.equal(payload.byteLength)
    expect(proxy.stats.bytesDown).to.equal(payload.byteLength)
    socket.destroy()
  })

  it('adds latency in each direction', async () => {
    const socket = await dial(proxy.port)
    proxy.setLatency(40)
    const rtt = await roundTrip(socket, Buffer.from('ping'))
    // two one-way delays of 40 ms; timers only ever fire late, never early
    expect(rtt).to.be.at.least(79)
    socket.destroy()
  })

  it('black-holes a connection without closing it, then resumes', async () => {
    const socket = await dial(proxy.port)
    await roundTrip(socket, Buffer.from('warm'))
    proxy.connections[0].setBlackhole(true)

    let received = 0
    socket.on('data', (chunk: Buffer) => { received += chunk.byteLength })
    socket.write('lost?')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(received).to.equal(0)
    expect(socket.destroyed).to.be.false()

    proxy.connections[0].setBlackhole(false)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(received).to.equal(5)
    socket.destroy()
  })

  it('resets connections', async () => {
    const socket = await dial(proxy.port)
    socket.on('error', () => {})
    const closed = new Promise(resolve => socket.once('close', resolve))
    proxy.resetConnections()
    await closed
    expect(proxy.connections).to.have.lengthOf(0)
  })
})
