import { createServer } from 'node:net'
import { expect } from 'aegir/chai'
import { connectFrom, pickLocalPort } from '../src/punch.ts'
import type { Server, Socket } from 'node:net'

async function listen (): Promise<{ server: Server, port: number, accepted: Socket[] }> {
  const accepted: Socket[] = []
  const server = createServer(socket => { accepted.push(socket) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') { throw new Error('no port') }
  return { server, port: address.port, accepted }
}

describe('punch sockets', () => {
  const servers: Server[] = []
  afterEach(() => { servers.splice(0).forEach(s => s.close()) })

  it('connects from the pre-picked local port (the one we advertised)', async () => {
    const { server, port, accepted } = await listen()
    servers.push(server)
    const localPort = await pickLocalPort()
    const { socket, addr } = await connectFrom([{ host: '127.0.0.1', port }], localPort)
    expect(addr.port).to.equal(port)
    expect(socket.localPort).to.equal(localPort)
    await new Promise(resolve => setImmediate(resolve))
    expect(accepted.map(s => s.remotePort)).to.deep.equal([localPort])
    socket.destroy()
  })

  it('connects from one local port to several peers at once and keeps the first', async () => {
    const one = await listen()
    const two = await listen()
    servers.push(one.server, two.server)
    const localPort = await pickLocalPort()
    const { socket } = await connectFrom([{ host: '127.0.0.1', port: one.port }, { host: '127.0.0.1', port: two.port }], localPort)
    expect(socket.localPort).to.equal(localPort)
    socket.destroy()
  })

  it('fails with PunchFailedError when no address answers', async () => {
    const { server, port } = await listen()
    await new Promise(resolve => server.close(resolve))
    const localPort = await pickLocalPort()
    await expect(connectFrom([{ host: '127.0.0.1', port }], localPort)).to.eventually.be.rejected().with.property('name', 'PunchFailedError')
    await expect(connectFrom([], localPort)).to.eventually.be.rejected().with.property('name', 'PunchFailedError')
  })

  it('fails with PunchFailedError (EADDRINUSE), without hanging, when another socket took the picked port before the punch', async () => {
    const { server, port } = await listen()
    servers.push(server)
    const localPort = await pickLocalPort()
    // the port is free between the pick and the punch: here a listener takes it
    const thief = createServer()
    servers.push(thief)
    await new Promise<void>(resolve => thief.listen(localPort, '0.0.0.0', resolve))
    const err = await connectFrom([{ host: '127.0.0.1', port }], localPort).then(() => undefined, (err: Error) => err)
    expect(err).to.have.property('name', 'PunchFailedError')
    expect(err?.message).to.include('EADDRINUSE')
  })

  it('stops on abort', async () => {
    const { server, port } = await listen()
    servers.push(server)
    const localPort = await pickLocalPort()
    const controller = new AbortController()
    // aborted before the connect completes (that takes a turn of the event loop)
    const pending = connectFrom([{ host: '127.0.0.1', port }], localPort, { signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(pending).to.eventually.be.rejected().with.property('message', 'stop')
  })
})
