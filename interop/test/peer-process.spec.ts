/**
 * The class that drives a peer over JSON lines drives any such process (the
 * go peer, the lab's js peer): `PeerProcess`, still exported as `GoPeer`.
 */
import { expect } from 'aegir/chai'
import { GoPeer, PeerProcess, startPeerProcess } from '../src/index.ts'

/** A stand-in peer: says ready, answers `add` and exits on `exit` or EOF */
const SCRIPT = `
const rl = require('node:readline').createInterface({ input: process.stdin })
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n')
out({ type: 'ready', peerId: 'peer-1', addrs: ['/ip4/127.0.0.1/tcp/1'] })
rl.on('line', (line) => {
  const msg = JSON.parse(line)
  if (msg.cmd === 'add') { out({ type: 'result', id: msg.id, ok: true, sum: msg.a + msg.b }); out({ type: 'added', sum: msg.a + msg.b }) }
  else if (msg.cmd === 'exit') { out({ type: 'result', id: msg.id, ok: true }); process.exit(0) }
  else out({ type: 'result', id: msg.id, ok: false, error: 'unknown command ' + msg.cmd })
})
rl.on('close', () => process.exit(0))
`

describe('PeerProcess', () => {
  it('is the class the go peer specs know as GoPeer', () => {
    expect(GoPeer).to.equal(PeerProcess)
  })

  it('drives any process that speaks the JSON-line protocol', async () => {
    const peer = await startPeerProcess({ command: process.execPath, args: ['-e', SCRIPT], name: 'stand-in' })
    expect(peer).to.be.an.instanceOf(PeerProcess)
    expect(peer.peerId).to.equal('peer-1')
    expect(peer.addrs).to.deep.equal(['/ip4/127.0.0.1/tcp/1'])
    const result = await peer.command<{ sum: number }>('add', { a: 2, b: 3 })
    expect(result.sum).to.equal(5)
    expect((await peer.waitFor('added')).sum).to.equal(5)
    const err = await peer.command('divide').catch((e: any) => e)
    expect(err.name).to.equal('PeerCommandError')
    await peer.stop()
    expect(peer.exitCode).to.equal(0)
  })

  it('rejects when the process exits before it is ready', async () => {
    const err = await startPeerProcess({ command: process.execPath, args: ['-e', 'process.exit(3)'], name: 'dies' }).catch((e: any) => e)
    expect(err.name).to.equal('PeerCommandError')
    expect(err.message).to.include('code 3')
  })
})
