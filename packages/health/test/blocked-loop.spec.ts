/**
 * A probe's answer that is already waiting in a socket when a blocked event
 * loop wakes up past the probe's deadline: Node runs due timers before it
 * reads sockets, so a timeout that fires at once would fail a probe whose
 * answer came in time (a loaded host then closes live connections as dead).
 */
import { createServer } from 'node:net'
import { expect } from 'aegir/chai'
import { pingMuxer } from '../src/muxer-probe.ts'
import type { Server, Socket } from 'node:net'

describe('probes on a blocked event loop (node)', () => {
  let server: Server
  let client: Socket
  let remote: Socket

  beforeEach(async () => {
    server = createServer()
    const accepted = new Promise<Socket>(resolve => { server.once('connection', resolve) })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const { port } = server.address() as { port: number }
    client = (await import('node:net')).connect(port, '127.0.0.1')
    await new Promise(resolve => client.once('connect', resolve))
    remote = await accepted
  })

  afterEach(async () => {
    client.destroy()
    remote.destroy()
    await new Promise(resolve => server.close(resolve))
  })

  it('a muxer ping answered in time is not failed because the loop woke up after its timeout', async () => {
    // the pong is on the wire as soon as the ping is sent
    const muxer = {
      ping: async () => new Promise<number>(resolve => {
        client.once('data', () => { resolve(1) })
        remote.write('pong')
      })
    }

    const probe = pingMuxer(muxer, 50, new AbortController().signal)
    probe.catch(() => {})

    // the loop is blocked past the deadline (a loaded host, a long GC)
    const until = performance.now() + 300
    while (performance.now() < until) {}

    const rtt = await probe
    expect(rtt).to.be.a('number')
  })
})
