/**
 * Could a probe reuse one long-lived ping stream per connection instead of
 * opening a stream per probe (the stream open is most of a probe's CPU)?
 * Holds one `/ipfs/ping/1.0.0` stream open to a js-libp2p remote (its ping
 * handler) and to the go-libp2p interop peer, pings on it after growing
 * idle gaps, and reports which pings were answered; then holds one ping
 * stream on each of 4 connections to the go peer at once.
 *
 * `node bench/health/ping-stream-reuse.ts`
 */
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { startGoPeer, tcpAddr } from '../../interop/src/index.ts'
import { createNode } from '../lib/nodes.ts'
import { printTable, writeResults } from '../lib/stats.ts'
import type { Connection, Stream } from '@libp2p/interface'

const PING = '/ipfs/ping/1.0.0'
/** Idle gaps before each ping on the held stream, s (pings at 0, 5, 14, 25 s after open) */
const GAPS = [0, 5, 9, 11]

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** One 32-byte round trip on an open stream; the outcome as text */
async function pingOn (stream: Stream): Promise<string> {
  if (stream.status !== 'open' || stream.readStatus !== 'readable') {
    return `closed by remote before (${stream.status})`
  }

  const started = performance.now()
  return new Promise<string>(resolve => {
    let received = 0
    const onMessage = (evt: any): void => {
      received += evt.data.byteLength
      if (received >= 32) { done(`answered in ${(performance.now() - started).toFixed(1)} ms`) }
    }
    const onClose = (): void => { done('stream closed/reset instead of answer') }
    const timer = setTimeout(() => { done('no answer in 2 s') }, 2_000)
    const done = (outcome: string): void => {
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      resolve(outcome)
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
    stream.send(new Uint8Array(32).fill(1))
  })
}

async function heldStream (conn: Connection): Promise<Array<{ at: number, outcome: string }>> {
  const stream = await conn.newStream(PING, { signal: AbortSignal.timeout(5_000), maxOutboundStreams: 8 })
  const opened = performance.now()
  const out = []
  for (const gap of GAPS) {
    await sleep(gap * 1000)
    out.push({ at: Math.round((performance.now() - opened) / 1000), outcome: await pingOn(stream) })
  }
  stream.abort(new Error('done'))
  return out
}

const client = await createNode({ addresses: { listen: [] } })
const jsRemote = await createNode({ services: { ping: ping() } })
const go = await startGoPeer({ name: 'go-reuse' })

try {
  const jsConn = await client.dial(jsRemote.getMultiaddrs()[0])
  const goConn = await client.dial(multiaddr(tcpAddr(go.addrs)))
  const [js, goResult] = await Promise.all([heldStream(jsConn), heldStream(goConn)])

  // go's resource manager: ping streams per peer, across its connections
  const goConns = [goConn]
  for (let i = 0; i < 3; i++) { goConns.push(await client.dial(multiaddr(tcpAddr(go.addrs)), { force: true })) }
  const held = await Promise.all(goConns.map(async c => c.newStream(PING, { signal: AbortSignal.timeout(5_000), maxOutboundStreams: 8 })))
  const concurrent = await Promise.all(held.map(async s => pingOn(s)))
  held.forEach(s => { s.abort(new Error('done')) })

  const rows = GAPS.map((gap, i) => ({
    'idle gap (s)': gap,
    'ping at (s after open)': js[i].at,
    'js-libp2p remote': js[i].outcome,
    'go-libp2p remote': goResult[i].outcome
  }))
  printTable('Pings on one held ping stream', rows)
  const concurrentRows = concurrent.map((outcome, i) => ({ 'go connection': i + 1, 'ping on a held stream, all 4 at once': outcome }))
  printTable('One held ping stream on each of 4 connections to one go peer', concurrentRows)
  writeResults('health-ping-stream-reuse', { rows, concurrentRows })
} finally {
  await client.stop()
  await jsRemote.stop()
  await go.stop()
}
process.exit(0)
