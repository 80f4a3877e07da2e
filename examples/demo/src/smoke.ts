/**
 * The interop smoke run: one js node and one go-libp2p node on loopback
 * connect, then ping and echo each other on every tick, printing a line a
 * person can follow.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createJsNode, randomBytes, sendAndReceiveAll, startGoPeer, tcpAddr } from '@x/interop'
import type { DemoOptions } from './options.ts'

const ECHO = '/echo/1.0.0'
const ECHO_BYTES = 64 * 1024

export interface SmokeRun {
  /** Resolves when the run ended (duration reached or `stop()` called) */
  done: Promise<void>
  stop(): Promise<void>
}

export async function startSmokeRun (options: DemoOptions, print: (line: string) => void): Promise<SmokeRun> {
  const go = await startGoPeer({ name: 'demo-go', timeoutMs: ((options.duration ?? 24 * 3600) + 60) * 1000 })
  const js = await createJsNode()
  await js.start()

  print(`go-libp2p peer ${go.peerId} (pid ${go.pid}) at ${tcpAddr(go.addrs)}`)
  print(`js-libp2p peer ${js.peerId} at ${js.getMultiaddrs()[0]?.toString()}`)

  const conn = await js.dial(multiaddr(tcpAddr(go.addrs)))
  print(`connected js -> go: ${conn.encryption} + ${conn.multiplexer}, connection ${conn.id}`)
  print('')
  print('tick  js->go ping  go->js ping  echo 64 KiB js->go  echo 64 KiB go->js')

  const goPeerId = peerIdFromString(go.peerId)
  let tick = 0
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const { promise: done, resolve: finish } = Promise.withResolvers<void>()

  const round = async (): Promise<void> => {
    tick++
    const cells: string[] = []

    try {
      // js-libp2p measures whole milliseconds
      const rtt = await js.services.ping.ping(goPeerId)
      cells.push(rtt < 1 ? '<1 ms' : `${rtt} ms`)
    } catch (err: any) {
      cells.push(`failed: ${err.name}`)
    }

    try {
      const { rttsMs } = await go.command('ping', { peerId: js.peerId.toString() })
      cells.push(`${Number(rttsMs[0]).toFixed(1)} ms`)
    } catch (err: any) {
      cells.push(`failed: ${err.name}`)
    }

    try {
      const data = randomBytes(ECHO_BYTES)
      const stream = await js.dialProtocol(goPeerId, ECHO)
      const back = await sendAndReceiveAll(stream, data)
      cells.push(Buffer.from(back).equals(Buffer.from(data)) ? 'ok' : 'MISMATCH')
    } catch (err: any) {
      cells.push(`failed: ${err.name}`)
    }

    try {
      const result = await go.command('echo', { peerId: js.peerId.toString(), sizeBytes: ECHO_BYTES })
      cells.push(result.identical === true ? 'ok' : 'MISMATCH')
    } catch (err: any) {
      cells.push(`failed: ${err.name}`)
    }

    print(`${String(tick).padEnd(6)}${cells[0].padEnd(13)}${cells[1].padEnd(13)}${cells[2].padEnd(20)}${cells[3]}`)
  }

  const loop = async (): Promise<void> => {
    if (stopped) {
      return
    }

    await round()

    if (!stopped) {
      timer = setTimeout(() => { void loop() }, options.interval * 1000)
    }
  }

  const stop = async (): Promise<void> => {
    if (stopped) {
      return done
    }

    stopped = true
    clearTimeout(timer)
    await js.stop()
    await go.stop()
    print(`stopped: js node stopped, go peer pid ${go.pid} exited (code ${go.exitCode})`)
    finish()
  }

  void loop()

  if (options.duration != null) {
    setTimeout(() => { void stop() }, options.duration * 1000).unref()
  }

  return { done, stop }
}
