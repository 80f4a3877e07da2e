/**
 * The batching compare's fault proxy runs in a process of its own
 * (`bench/batching/proxy-worker.ts`), so that A, B and the proxy each have
 * an event loop: the proxy forwards and counts the bytes on the wire from
 * there, and no proxy process outlives its coordinator, whether that stops
 * it, fails, or is killed.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { startProxyProcess } from '../batching/proxy-worker.ts'
import { sharedCompareRun } from './fixtures/compare-run.ts'
import type { ChildProcess } from 'node:child_process'
import type { Server } from 'node:net'

const BATCHING = join(dirname(fileURLToPath(import.meta.url)), '..', 'batching')
const PROXY_WORKER = join(BATCHING, 'proxy-worker.ts')

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Resolves once `pid` is gone; rejects after `ms` (an exit is an event of another process: polled) */
async function gone (pid: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (isAlive(pid)) {
    if (Date.now() > deadline) { throw new Error(`process ${pid} still alive after ${ms} ms`) }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** The first line of a child's stdout that matches, resolved with the match */
async function line (child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const m = text.match(pattern)
      if (m != null) { resolve(m) }
    })
    child.once('close', (code) => { reject(new Error(`exited (${code}) before printing ${pattern}: ${text}`)) })
  })
}

/** An echo server on loopback */
async function echoServer (): Promise<{ server: Server, port: number }> {
  const server = createServer(socket => { socket.pipe(socket) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') { throw new Error('no port') }
  return { server, port: address.port }
}

describe('batching compare: the fault proxy in a process of its own', function () {
  this.timeout(120_000)
  let echo: { server: Server, port: number }
  const children: ChildProcess[] = []

  before(async () => {
    echo = await echoServer()
  })

  after(async () => {
    for (const child of children) { child.kill('SIGKILL') }
    await new Promise(resolve => echo.server.close(resolve))
  })

  it('forwards to its target from another process, counts the bytes sent towards it, and exits on stop', async () => {
    const proxy = await startProxyProcess(echo.port)
    try {
      expect(proxy.pid).to.not.equal(process.pid)
      expect(isAlive(proxy.pid)).to.equal(true)

      const socket = connect({ host: '127.0.0.1', port: proxy.port })
      const payload = new Uint8Array(1000).fill(7)
      const echoed = new Promise<number>((resolve, reject) => {
        let n = 0
        socket.on('data', (chunk: Buffer) => { n += chunk.byteLength; if (n >= payload.byteLength) { resolve(n) } })
        socket.once('error', reject)
      })
      socket.write(payload)
      expect(await echoed).to.equal(1000)
      expect(await proxy.bytesUp()).to.equal(1000)
      socket.destroy()
    } finally {
      await proxy.stop()
    }
    expect(isAlive(proxy.pid)).to.equal(false)
  })

  it('a proxy that cannot start rejects with ProxyProcessStartError and its process is gone', async () => {
    const err = await startProxyProcess(0).then(() => undefined, (err: any) => err)

    expect(err?.name).to.equal('ProxyProcessStartError')
    expect(err.message).to.include('target.port')
    expect(isAlive(err.pid)).to.equal(false)
  })

  /** Starts a coordinator process that starts a proxy process, ends the coordinator by `end`, and checks the proxy process is gone */
  async function coordinatorLeavesNoProxy (end: 'throw' | 'SIGKILL'): Promise<void> {
    const script = `import { startProxyProcess } from ${JSON.stringify(PROXY_WORKER)}
const proxy = await startProxyProcess(${echo.port})
process.stdout.write('proxy pid ' + proxy.pid + '\\n')
${end === 'throw' ? 'throw new Error(\'coordinator failed\')' : 'setInterval(() => {}, 1000)'}`
    // a file, not --eval: fork() passes the coordinator's flags (--input-type) on to the proxy process
    const dir = await mkdtemp(join(tmpdir(), 'x-batching-proxy-'))
    try {
      const file = join(dir, 'coordinator.mjs')
      await writeFile(file, script)
      const coordinator = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(coordinator)
      const exited = new Promise(resolve => coordinator.once('exit', resolve))
      const pid = Number((await line(coordinator, /proxy pid (\d+)\n/))[1])

      if (end === 'SIGKILL') {
        expect(isAlive(pid)).to.equal(true)
        coordinator.kill('SIGKILL')
      }
      await exited
      await gone(pid)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  it('no proxy process is left behind when its coordinator throws after starting it (its exit hook kills the proxy)', async () => {
    await coordinatorLeavesNoProxy('throw')
  })

  it('no proxy process is left behind when its coordinator is killed with SIGKILL (the proxy sees its IPC channel close)', async () => {
    await coordinatorLeavesNoProxy('SIGKILL')
  })

  it('compare.ts runs with B and the proxy in two processes, counts wire bytes at the proxy, and leaves neither behind', async function () {
    this.timeout(300_000)
    const { code, stderr, results } = await sharedCompareRun()

    expect(code, stderr).to.equal(0)
    // the loopback run and the compression run each had a receiver and a proxy process
    const pids = [...stderr.matchAll(/receiver pid (\d+), proxy pid (\d+)/g)].map(m => [Number(m[1]), Number(m[2])])
    expect(pids).to.have.lengthOf(2)
    for (const pid of pids.flat()) { await gone(pid) }

    expect(results.loopback.proxy).to.equal('own process')
    // wire bytes counted at the proxy: at least the 100 B payload per message, and some framing
    for (const mode of ['stream/msg', 'lp-stream', 'batching']) {
      expect(results.loopback.raw[mode].wire).to.be.greaterThan(100).and.lessThan(1000)
    }
    // the proxy's own CPU time while the highs flowed was measured in its process
    expect(results.loopback.floods.batching.cpu[0][2]).to.be.a('number').and.greaterThan(0)
  })
})
