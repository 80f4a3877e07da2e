/**
 * One libp2p node of the bottleneck benchmark, run inside a network
 * namespace by `bottleneck.ts` (`ip netns exec <ns> node bottleneck-worker.ts <role> <json>`).
 *
 * - `receiver {"port"}`: echoes every frame of `/bench/echo/1.0.0` at once
 *   and sinks `/bench/bulk/1.0.0`, counting the bulk bytes in 100 ms bins
 *   of the shared wall clock. Prints `{"addr"}`, then answers
 *   `{"from","to"}` lines on stdin with `{"bytes"}` received in that window.
 * - `sender {"addrs","bandwidth","warmupMs","durationMs","echo"}`: dials
 *   every receiver, runs one bulk stream to each (writing as fast as
 *   backpressure allows) and, with `echo`, a 16-byte echo to the first
 *   every 50 ms. Prints `{"from","to","rtts","metrics"}` for the window
 *   after the warm-up.
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
import type { BandwidthManager, BandwidthManagerInit } from '@x/bandwidth'
import type { Libp2p, Stream } from '@libp2p/interface'

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

  if (args.echo === true) {
    const stream = await node.dialProtocol(multiaddr(addrs[0]), ECHO_PROTOCOL)
    const sent = new Map<number, number>()
    let pending = new Uint8Array(0)
    stream.addEventListener('message', (evt) => {
      const data = evt.data.subarray()
      const joined = new Uint8Array(pending.length + data.length)
      joined.set(pending)
      joined.set(data, pending.length)
      let offset = 0

      for (; offset + FRAME <= joined.length; offset += FRAME) {
        const seq = new DataView(joined.buffer, joined.byteOffset + offset, FRAME).getUint32(0)
        const at = sent.get(seq)

        if (at != null) {
          sent.delete(seq)
          rtts.push({ at, rtt: performance.now() - at })
        }
      }

      pending = joined.slice(offset)
    })
    let seq = 0
    echoTimer = setInterval(() => {
      const frame = new Uint8Array(FRAME)
      new DataView(frame.buffer).setUint32(0, seq)
      sent.set(seq++, performance.now())
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
  stop.abort()
  await Promise.allSettled(writers)
  print({
    from,
    to,
    rtts: rtts.filter(r => r.at >= fromPerf && r.at < toPerf).map(r => r.rtt),
    lagP99: lag.percentile(99) / 1e6,
    lagMax: lag.max / 1e6,
    echoesLost: args.echo === true ? Math.round(args.durationMs / 50) - rtts.filter(r => r.at >= fromPerf && r.at < toPerf).length : 0,
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
