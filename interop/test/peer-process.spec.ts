/**
 * The class that drives a peer over JSON lines drives any such process (the
 * go peer, the lab's js peer): `PeerProcess`, still exported as `GoPeer`.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { expect } from 'aegir/chai'
import { CONTROL_PROTOCOL_FILE, readControlSchema, renderControlProtocol } from '../src/control-schema.ts'
import { GO_PEER_COMMANDS, GoPeer, PeerProcess, startPeerProcess } from '../src/index.ts'
import type { GoPeerCommands } from '../src/index.ts'

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

  it('a command that cannot be spawned (ENOENT) rejects with PeerCommandError, and its error event does not crash the test process', async () => {
    const uncaught: Error[] = []
    const onUncaught = (err: Error): void => { uncaught.push(err) }
    const listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', onUncaught)

    try {
      const err = await startPeerProcess({ command: '/nonexistent/go-peer-binary', name: 'missing' }).catch((e: any) => e)
      expect(err).to.have.property('name', 'PeerCommandError')
      expect(err.message).to.include('ENOENT')
      // the error event is emitted on a later tick: give it one
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(uncaught).to.deep.equal([])
    } finally {
      process.off('uncaughtException', onUncaught)
      listeners.forEach(listener => process.on('uncaughtException', listener))
    }
  })

  it('a command to a process that is gone is rejected, and the write to its closed stdin (EPIPE) does not crash the test process', async () => {
    const peer = new PeerProcess(spawn(process.execPath, ['-e', 'process.exit(0)'], { stdio: ['pipe', 'pipe', 'pipe'] }), 'gone')
    await peer.exited
    const uncaught: Error[] = []
    const onUncaught = (err: Error): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)

    try {
      const err = await peer.command('add', { a: 1, b: 2 }, 1_000).catch((e: any) => e)
      expect(err.name).to.equal('PeerCommandError')
      // a second one, once stdin has seen its error
      const again = await peer.command('add', { a: 1, b: 2 }, 1_000).catch((e: any) => e)
      expect(again.name).to.equal('PeerCommandError')
      await new Promise(resolve => setTimeout(resolve, 100))
      expect(uncaught.map(e => e.message)).to.deep.equal([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('a process that dies while commands are being written rejects them all, nothing escapes', async () => {
    const peer = await startPeerProcess({ command: process.execPath, args: ['-e', `${SCRIPT}; setTimeout(() => process.exit(0), 50)`], name: 'dies-soon' })
    const uncaught: Error[] = []
    const onUncaught = (err: Error): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)

    try {
      const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        await new Promise(resolve => setTimeout(resolve, i * 5))
        return peer.command<{ sum: number }>('add', { a: i, b: 1 }, 2_000).then(r => r.sum, (e: any) => e.name)
      }))
      // answered before it died, or rejected as a command error: never a timeout, never a crash
      for (const [i, r] of results.entries()) {
        expect([i + 1, 'PeerCommandError']).to.include(r)
      }
      expect(results).to.include('PeerCommandError')
      expect(uncaught.map(e => e.message)).to.deep.equal([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  describe('the go peer control protocol', () => {
    it('control-protocol.ts is what the schema (go-peer/control-protocol.json) renders to', () => {
      expect(readFileSync(CONTROL_PROTOCOL_FILE, 'utf8')).to.equal(renderControlProtocol(readControlSchema()))
      expect([...GO_PEER_COMMANDS].sort()).to.deep.equal(Object.keys(readControlSchema().commands).sort())
    })

    it('a command the schema does not know is refused before it is written', async () => {
      // a stand-in that records every line it reads
      const peer = await startPeerProcess<GoPeerCommands>({
        command: process.execPath,
        args: ['-e', SCRIPT.replace('const msg = JSON.parse(line)', 'const msg = JSON.parse(line); out({ type: \'line\', cmd: msg.cmd })')],
        name: 'schema',
        commands: GO_PEER_COMMANDS
      })

      try {
        // @ts-expect-error not a command of the schema: refused by the compiler too
        const err = await peer.command('no-such-command').catch((e: any) => e)
        expect(err.name).to.equal('UnknownCommandError')
        // a known one goes out (the stand-in does not know it and answers ok: false)
        const known = await peer.command('conns').catch((e: any) => e)
        expect(known.name).to.equal('PeerCommandError')
        expect((await peer.waitFor('line')).cmd).to.equal('conns')
        expect(peer.events.filter(e => e.type === 'line').map(e => e.cmd)).to.deep.equal(['conns'])
      } finally {
        await peer.stop()
      }
    })
  })
})
