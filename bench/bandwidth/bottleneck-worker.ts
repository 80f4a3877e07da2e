/**
 * One libp2p node of the bottleneck benchmark, run inside a network
 * namespace by `bottleneck.ts` (`ip netns exec <ns> node bottleneck-worker.ts <role> <json>`).
 *
 * - `receiver {"port"}`: echoes every frame of `/bench/echo/1.0.0` at once
 * and sinks `/bench/bulk/1.0.0`, counting the bulk bytes in 100 ms bins
 * of the shared wall clock. Prints `{"addr"}`, then answers
 * `{"from","to"}` lines on stdin with `{"bytes"}` received in that window.
 * - `sender {"addrs","bandwidth","warmupMs","durationMs","echo"}`: dials
 * every receiver, runs one bulk stream to each (writing as fast as
 * backpressure allows) and, with `echo`, a 16-byte echo to the first
 * every 50 ms. Prints `{"from","to","rtts","echoesSent","echoesUnanswered",
 * "metrics"}` for the window after the warm-up; the echoes sent in the
 * window are waited for (up to 5 s, bulk still running) before printing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { bandwidthManager } from '@x/bandwidth'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { BandwidthManager, BandwidthManagerInit } from '@x/bandwidth'

export const ECHO_PROTOCOL = '/bench/echo/1.0.0'
export const BULK_PROTOCOL = '/bench/bulk/1.0.0'
const FRAME = 16
const BIN = 100

const [role, json] = process.argv.slice(2)
const args = JSON.parse(json ?? '{}')

function print (value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

async function receiver (): Promise<void> {
  const bins = new Map<number, number>()
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/0.0.0.0/tcp/${args.port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  await node.handle(ECHO_PROTOCOL, (stream: Stream) => {
    stream.addEventListener('message', (evt) => { stream.send(evt.data) })
  })
  await node.handle(BULK_PROTOCOL, (stream: Stream) => {
    stream.addEventListener('message', (evt) => {
      const bin = Math.floor(Date.now() / BIN)
      bins.set(bin, (bins.get(bin) ?? 0) + evt.data.byteLength)
    })
  }, { maxInboundStreams: 64 })
  await node.start()
  const addr = node.getMultiaddrs().find(ma => !ma.toString().includes('127.0.0.1'))
  print({ addr: addr?.toString() })

  for await (const line of createInterface({ input: process.stdin })) {
    const { from, to } = JSON.parse(line)
    let bytes = 0

    for (const [bin, n] of bins) {
      if (bin * BIN >= from && bin * BIN < to) {
        bytes += n
      }
    }

    print({ bytes })
  }

  await node.stop()
}

async function bulk (stream: Stream, stop: AbortSignal): Promise<void> {
  const chunk = new Uint8Array(64 * 1024)

  while (!stop.aborted && stream.status === 'open') {
    if (!stream.send(chunk)) {
      await pEvent(stream, 'drain', { rejectionEvents: ['close'], signal: stop }).catch(() => {})
    }
  }
}

async function sender (): Promise<void> {
  const services: Record<string, any> = {}

  if (args.bandwidth != null) {
    services.bandwidth = bandwidthManager(args.bandwidth as BandwidthManagerInit)
  }

  const node: Libp2p<{ bandwidth?: BandwidthManager }> = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services
  })
  await node.start()
  const stop = new AbortController()
  const addrs: string[] = args.addrs
  const bulks = await Promise.all(addrs.map(async (addr) => node.dialProtocol(multiaddr(addr), BULK_PROTOCOL)))
  const rtts: Array<{ at: number, rtt: number }> = []
  let echoTimer: ReturnType<typeof setInterval> | undefined
  /** send time of each echo not answered yet */
  const sentAt = new Map<number, number>()

  if (args.echo === true) {
    const stream = await node.dialProtocol(multiaddr(addrs[0]), ECHO_PROTOCOL)
    let pending = new Uint8Array(0)
    stream.addEventListener('message', (evt) => {
      const data = evt.data.subarray()
      const joined = new Uint8Array(pending.length + data.length)
      joined.set(pending)
      joined.set(data, pending.length)
      let offset = 0

      for (; offset + FRAME <= joined.length; offset += FRAME) {
        const seq = new DataView(joined.buffer, joined.byteOffset + offset, FRAME).getUint32(0)
        const at = sentAt.get(seq)

        if (at != null) {
          sentAt.delete(seq)
          rtts.push({ at, rtt: performance.now() - at })
        }
      }

      pending = joined.slice(offset)
    })
    let seq = 0
    echoTimer = setInterval(() => {
      const frame = new Uint8Array(FRAME)
      new DataView(frame.buffer).setUint32(0, seq)
      sentAt.set(seq++, performance.now())
      stream.send(frame)
    }, 50)
  }

  const writers = bulks.map(async stream => bulk(stream, stop.signal))
  await new Promise(resolve => setTimeout(resolve, args.warmupMs))
  const lag = monitorEventLoopDelay({ resolution: 5 })
  lag.enable()
  const from = Date.now()
  const fromPerf = performance.now()
  await new Promise(resolve => setTimeout(resolve, args.durationMs))
  const to = Date.now()
  const toPerf = performance.now()
  const metrics = node.services.bandwidth?.getMetrics()
  clearInterval(echoTimer)
  // the echoes sent in the window that are still on their way come back
  // with the bulk transfer still running (up to 5 s): an echo is not left
  // out of the percentiles for being slow
  const inWindow = (at: number): boolean => at >= fromPerf && at < toPerf
  const outstanding = (): number => [...sentAt.values()].filter(inWindow).length
  const deadline = performance.now() + 5000

  while (outstanding() > 0 && performance.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }

  stop.abort()
  await Promise.allSettled(writers)
  const answered = rtts.filter(r => inWindow(r.at))
  print({
    from,
    to,
    rtts: answered.map(r => r.rtt),
    lagP99: lag.percentile(99) / 1e6,
    lagMax: lag.max / 1e6,
    echoesSent: answered.length + outstanding(),
    echoesUnanswered: outstanding(),
    metrics
  })
  await node.stop()
  process.exit(0)
}

if (role === 'receiver') {
  await receiver()
} else if (role === 'sender') {
  await sender()
} else {
  process.stderr.write('usage: bottleneck-worker.ts receiver|sender <json>\n')
  process.exit(1)
}
