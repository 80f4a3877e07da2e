/**
 * Traces the flow window of `@x/message-batching` on a 25 ms each-way
 * link through `@x/fault-proxy`: every 100 ms the window, the bytes in
 * flight, the smallest round trip, the highest delivery rate and the
 * ACKs seen, while A sends 100 B messages as fast as it may.
 *
 * Run: `node bench/batching/trace-flow.ts` (LATENCY=25 MESSAGES=100000)
 */
import { multiaddr } from '@multiformats/multiaddr'
import { FaultProxy } from '@x/fault-proxy'
import { FlowWindow } from '../../packages/message-batching/dist/src/flow.js'
import { InboundSession } from '../../packages/message-batching/dist/src/inbound.js'
import { createBatchingNode } from '../lib/nodes.ts'

const LATENCY = Number(process.env.LATENCY ?? 25)
const MESSAGES = Number(process.env.MESSAGES ?? 100_000)

let current: any
const origAcked = FlowWindow.prototype.acked
const origSent = FlowWindow.prototype.sent
let sentFrames = 0
let ackedFrames = 0
let ackEvents = 0
let rttSamples: number[] = []
const sentAt: number[] = []
const handedAt: number[] = []
let legOut: number[] = []
let legBack: number[] = []
const origWriteAck = (InboundSession.prototype as any).writeAck
;(InboundSession.prototype as any).writeAck = function (this: any) {
  const t = performance.now()
  while (handedAt.length < sentAt.length && handedAt.length < totalHanded + this.unacked) { handedAt.push(t); legOut.push(t - sentAt[handedAt.length - 1]) }
  totalHanded += this.unacked
  return origWriteAck.call(this)
}
let totalHanded = 0
let totalAcked = 0
FlowWindow.prototype.sent = function (this: any, bytes: number) { current = this; sentFrames++; sentAt.push(performance.now()); return origSent.call(this, bytes) }
FlowWindow.prototype.acked = function (this: any, count: number) {
  ackEvents++
  const t = performance.now()
  for (let k = totalAcked; k < totalAcked + count; k++) { if (handedAt[k] != null) { legBack.push(t - handedAt[k]) } }
  totalAcked += count
  ackedFrames += count
  const at = this.frames[this.head + count - 1]?.at
  if (at != null) { rttSamples.push(performance.now() - at) }
  return origAcked.call(this, count)
}

const a = await createBatchingNode(false)
const b = await createBatchingNode(true)
let got = 0
let done: () => void = () => {}
const all = new Promise<void>(resolve => { done = resolve })
b.services.batching.handle('m', () => { if (++got === MESSAGES) { done() } })
const port = Number(b.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)?.[1])
const proxy = new FaultProxy({ target: { port } })
await proxy.start()
proxy.setLatency(LATENCY)
await a.dial(multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`))

const started = performance.now()
const cpu0 = process.cpuUsage()
const timer = setInterval(() => {
  const f = current
  const rtts = rttSamples.sort((x, y) => x - y)
  process.stdout.write(`${(performance.now() - started).toFixed(0).padStart(6)} ms win ${f == null ? '-' : (f.window / 1024).toFixed(0)}K unacked ${f == null ? '-' : (f.unacked / 1024).toFixed(0)}K minRtt ${f?.minRtt?.toFixed(1)} maxRate ${f == null ? '-' : (f.maxRate).toFixed(0)}B/ms floor ${f == null ? '-' : (1.25 * f.maxRate * f.minRtt / 1024).toFixed(0)}K ss ${f?.slowStart} probe ${f?.probeUntil != null} frames ${sentFrames}/${ackedFrames} ackEvents ${ackEvents} rtt p50 ${rtts[rtts.length >> 1]?.toFixed(1)} max ${rtts.at(-1)?.toFixed(1)} got ${got} out p50 ${legOut.sort((x, y) => x - y)[legOut.length >> 1]?.toFixed(1)} back p50 ${legBack.sort((x, y) => x - y)[legBack.length >> 1]?.toFixed(1)} max ${legBack.at(-1)?.toFixed(1)}\n`)
  legOut = []; legBack = []
  rttSamples = []
  sentFrames = 0; ackedFrames = 0; ackEvents = 0
}, 100)

const data = new Uint8Array(100)
// at most 2,000 sends unresolved; the sender wakes at 1,000
const gate: { pending: number, wake?(): void } = { pending: 0 }
const settled = (): void => {
  if (--gate.pending < 1000 && gate.wake != null) {
    const wake = gate.wake
    gate.wake = undefined
    wake()
  }
}
for (let i = 0; i < MESSAGES; i++) {
  gate.pending++
  a.services.batching.send(b.peerId, 'm', data).finally(settled)
  if (gate.pending >= 2000) {
    await new Promise<void>(resolve => { gate.wake = resolve })
  }
}
await all
clearInterval(timer)
const cpu = process.cpuUsage(cpu0)
process.stdout.write(`cpu ${((cpu.user + cpu.system) / 1000 / (performance.now() - started) * 100).toFixed(0)}% of one core, ${((cpu.user + cpu.system) / MESSAGES).toFixed(1)} us/msg\n`)
process.stdout.write(`${MESSAGES} in ${(performance.now() - started).toFixed(0)} ms: ${(MESSAGES / (performance.now() - started) * 1000).toFixed(0)} msg/s\n`)
await a.stop(); await b.stop(); await proxy.stop()
