/**
 * Where `high` messages wait while a `low` flood saturates the link (25 ms
 * each way through `@x/fault-proxy`, flow control on): for each `high`
 * message the time from `send()` until its frame is handed to the stream
 * (our queues and writer) and from there until B's handler runs (the
 * stream, muxer, sockets, proxy, and B's backlog), with the event loop's
 * delay meanwhile.
 *
 * Run: `node bench/batching/trace-high.ts` (LATENCY=25 HIGHS=200 FLOW=1)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { FlowWindow } from '../../packages/message-batching/dist/src/flow.js'
import { FrameWriter } from '../../packages/message-batching/dist/src/writer.js'
import { createBatchingNode } from '../lib/nodes.ts'
import { percentile } from '../lib/stats.ts'

const LATENCY = Number(process.env.LATENCY ?? 25)
const HIGHS = Number(process.env.HIGHS ?? 200)
const now = (): number => performance.timeOrigin + performance.now()
const stamp = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0)

const queued: number[] = []
const windows: number[] = []
const inFlight: number[] = []
let flow: any
const origSent = FlowWindow.prototype.sent
FlowWindow.prototype.sent = function (this: any, bytes: number) { flow = this; return origSent.call(this, bytes) }
const origWrite = (FrameWriter.prototype as any).writeFrame
;(FrameWriter.prototype as any).writeFrame = function (this: any, stream: any, taken: any[], cause: string) {
  const t = now()
  for (const item of taken) {
    if (item.priority === 0 && item.payload?.byteLength === 100) {
      queued.push(t - stamp(item.payload))
      windows.push(flow?.window ?? 0)
      inFlight.push(flow?.unacked ?? 0)
    }
  }
  return origWrite.call(this, stream, taken, cause)
}

const a = await createBatchingNode(false)
const b = await createBatchingNode(true)
const total: number[] = []
b.services.batching.handle('m', (data: Uint8Array, { priority }: { priority: string }) => {
  if (priority === 'high') { total.push(now() - stamp(data)) }
})
const port = Number(b.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
const proxy = new FaultProxy({ target: { port } })
await proxy.start()
proxy.setLatency(LATENCY)
await a.dial(multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`))

const message = (): Uint8Array => { const d = new Uint8Array(100); new DataView(d.buffer).setFloat64(0, now()); return d }
const flood = { on: true }
// at most 2,000 low sends unresolved; the flood wakes at 1,000
const gate: { pending: number, wake?(): void } = { pending: 0 }
const settled = (): void => {
  if (--gate.pending <= 1000 && gate.wake != null) {
    const wake = gate.wake
    gate.wake = undefined
    wake()
  }
}
const floodDone = (async () => {
  while (flood.on) {
    gate.pending++
    a.services.batching.send(b.peerId, 'm', message(), { priority: 'low' }).finally(settled)
    if (gate.pending >= 2000) {
      await new Promise<void>(resolve => { gate.wake = resolve })
    }
  }
})()
await new Promise(resolve => setTimeout(resolve, 1000))
const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()
for (let i = 0; i < HIGHS; i++) {
  void a.services.batching.send(b.peerId, 'm', message(), { priority: 'high' })
  await new Promise(resolve => setTimeout(resolve, 10))
}
loop.disable()
flood.on = false
await floodDone
while (total.length < HIGHS) { await new Promise(resolve => setTimeout(resolve, 20)) }
const q = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(1)} p90 ${percentile(xs, 90).toFixed(1)} p99 ${percentile(xs, 99).toFixed(1)}`
process.stdout.write(`high, send -> B's handler:      ${q(total)} ms\n`)
process.stdout.write(`high, send -> stream.send:      ${q(queued)} ms\n`)
process.stdout.write(`flow window at the high's write: ${q(windows.map(w => w / 1024))} KiB; in flight ${q(inFlight.map(w => w / 1024))} KiB\n`)
process.stdout.write(`event-loop delay:               p50 ${(loop.percentile(50) / 1e6).toFixed(1)} p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms\n`)
await a.stop(); await b.stop(); await proxy.stop()
