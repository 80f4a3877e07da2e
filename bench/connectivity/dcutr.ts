/**
 * DCUtR in the NAT lab (interop/lab, needs root, nft and Go), RUNS times each
 * (default 20), in one cone-NAT lab with a go relay and three go AutoNAT servers:
 *
 * - go-go (baseline): a NATed go peer dials another NATed go peer through the
 *   relay; success and time from the relayed connect to go's EndHolePunch.
 * - js-go: a public js node (@x/universal-connectivity) dials a NATed go peer
 *   with `dialPeer` through the relay only (no futile direct attempt);
 *   success and time from the relayed connection to the direct one, as the
 *   service's DCUtR tracker measured it.
 * - NATed js-go: the same from a js node behind the other cone NAT, the
 *   like-for-like comparison with go-go (8 s upgrade window).
 * - js reachability: a NATed js node started with a relay reservation; time
 *   from spawning it to its circuit address being announced, and to a go
 *   peer's ping reaching it through the relay.
 *
 *   sudo node bench/connectivity/dcutr.ts [RUNS]
 */
import { labMissingReason, startLab, until } from '../../interop/test/lab/lab.ts'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'
import type { GoPeer } from '../../interop/src/index.ts'

const RUNS = Number(process.argv[2] ?? 20)
const reason = labMissingReason()

if (reason != null) {
  process.stderr.write(`the NAT lab cannot run here: ${reason}\n`)
  process.exit(1)
}

interface Sample { success: boolean, ms: number, error?: string }

const lab = await startLab('cone')
const goGo: Sample[] = []
const jsGo: Sample[] = []
const natedJsGo: Sample[] = []
const reach: Array<{ announcedMs: number, reachableMs: number }> = []

async function circuitOf (peer: GoPeer): Promise<string> {
  return until('a circuit address', async () => {
    const { p2pAddrs } = await peer.command<{ p2pAddrs: string[] }>('addrs')
    return p2pAddrs.find(a => a.includes('/tcp/') && a.includes('/p2p-circuit/'))
  }, 30_000)
}

try {
  await lab.startInfra()

  for (let i = 0; i < RUNS; i++) {
    const a = await lab.natedGo('a')
    const b = await lab.natedGo('b')
    const circuit = await circuitOf(b)
    const started = Date.now()
    try {
      await a.command('connect', { addr: circuit }, 15_000)
      const end = await b.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === a.peerId, 30_000)
      goGo.push({ success: end.success === true, ms: Number(end.ts) - started, error: end.error })
    } catch (err: any) {
      goGo.push({ success: false, ms: Date.now() - started, error: err.message })
    }
    await a.stop()
    await b.stop()
    process.stderr.write(`go-go ${i + 1}/${RUNS}: ${goGo.at(-1)?.success === true ? 'ok' : 'failed'} ${goGo.at(-1)?.ms} ms\n`)
  }

  const js = await lab.js('pubjs', { listen: [`/ip4/${lab.info.ip.pubjs}/tcp/4001`], relays: [lab.relayAddr], connect: lab.autonatAddrs, upgradeTimeout: 20_000, holePunchWindow: 20_000, timeoutMs: 1_800_000 })
  await js.waitFor('nat-status', e => e.status === 'public', 60_000)

  for (let i = 0; i < RUNS; i++) {
    const b = await lab.natedGo('b')
    await circuitOf(b) // b holds its reservation on the relay
    try {
      const result = await js.command<any>('dial', { peerId: b.peerId, addrs: [] }, 60_000)
      const punch = await js.waitFor('hole-punch', e => e.peerId === b.peerId, 30_000)
      jsGo.push({ success: result.path === 'hole-punch' && punch.success === true, ms: punch.duration, error: result.path === 'hole-punch' ? undefined : `path ${result.path}` })
    } catch (err: any) {
      jsGo.push({ success: false, ms: NaN, error: err.message })
    }
    if (jsGo.at(-1)?.success !== true) { process.stderr.write(`  js-go failure: ${jsGo.at(-1)?.error}\n`) }
    await b.stop()
    process.stderr.write(`js-go ${i + 1}/${RUNS}: ${jsGo.at(-1)?.success === true ? 'ok' : 'failed'} ${jsGo.at(-1)?.ms} ms\n`)
  }
  await js.stop()

  // the like-for-like comparison with go-go: js behind the other cone NAT
  const natedJs = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4900'], relays: [lab.relayAddr], connect: lab.autonatAddrs, upgradeTimeout: 8_000, holePunchWindow: 8_000, timeoutMs: 1_800_000 })
  await until('the NATed js node to reach the relay', async () => (await natedJs.command<{ conns: any[] }>('conns')).conns.some(c => c.peerId === lab.relay.peerId) ? true : undefined, 15_000)

  for (let i = 0; i < RUNS; i++) {
    const b = await lab.natedGo('b')
    await circuitOf(b)
    try {
      const result = await natedJs.command<any>('dial', { peerId: b.peerId, addrs: [] }, 60_000)
      const punch = await natedJs.waitFor('hole-punch', e => e.peerId === b.peerId, 30_000)
      natedJsGo.push({ success: result.path === 'hole-punch' && punch.success === true, ms: punch.duration, error: result.path === 'hole-punch' ? undefined : `path ${result.path}` })
    } catch (err: any) {
      natedJsGo.push({ success: false, ms: NaN, error: err.message })
    }
    if (natedJsGo.at(-1)?.error != null) { process.stderr.write(`  NATed js-go: ${natedJsGo.at(-1)?.error}\n`) }
    await b.stop()
    process.stderr.write(`NATed js-go ${i + 1}/${RUNS}: ${natedJsGo.at(-1)?.success === true ? 'ok' : 'failed'} ${natedJsGo.at(-1)?.ms} ms\n`)
  }
  await natedJs.stop()

  const pinger = await lab.natedGo('b')

  for (let i = 0; i < RUNS; i++) {
    const spawned = Date.now()
    const nated = await lab.js('a', { listen: [`/ip4/0.0.0.0/tcp/${5000 + i}`], relays: [lab.relayAddr], reserve: true })
    const announced = await nated.waitFor('addrs', e => (e.addrs as string[]).some(x => x.includes('/p2p-circuit')), 30_000)
    const circuit = (announced.addrs as string[]).find(x => x.includes('/p2p-circuit')) as string
    await pinger.command('connect', { addr: circuit }, 15_000)
    await pinger.command('ping', { peerId: nated.peerId, count: 1 }, 15_000)
    reach.push({ announcedMs: Number(announced.ts) - spawned, reachableMs: Date.now() - spawned })
    await nated.stop()
    await pinger.command('disconnect', { peerId: nated.peerId }).catch(() => {})
    process.stderr.write(`js reach ${i + 1}/${RUNS}: ${reach.at(-1)?.reachableMs} ms\n`)
  }
} finally {
  await lab.down()
}

const summary = (samples: Sample[]): Record<string, string | number> => {
  const ok = samples.filter(s => s.success).map(s => s.ms)
  return {
    runs: String(samples.length),
    successes: String(ok.length),
    'success rate': `${fmt(100 * ok.length / samples.length, 0)}%`,
    'median ms to direct': median(ok),
    'p90 ms to direct': percentile(ok, 90)
  }
}

const rows = [
  { pair: 'NATed go -> NATed go (baseline)', ...summary(goGo) },
  { pair: 'public js -> NATed go', ...summary(jsGo) },
  { pair: 'NATed js -> NATed go', ...summary(natedJsGo) }
]
printTable(`DCUtR through a cone NAT, ${RUNS} runs each`, rows)
const goMedian = median(goGo.filter(s => s.success).map(s => s.ms))
const jsMedian = median(jsGo.filter(s => s.success).map(s => s.ms))
process.stdout.write(`js/go median time-to-direct ratio: ${fmt(jsMedian / goMedian)}\n`)
printTable(`NATed js node: from spawn to reachable through the relay, ${RUNS} runs`, [{
  'median ms to circuit address': median(reach.map(r => r.announcedMs)),
  'p90 ms to circuit address': percentile(reach.map(r => r.announcedMs), 90),
  'median ms to reachable (go ping)': median(reach.map(r => r.reachableMs)),
  'p90 ms to reachable': percentile(reach.map(r => r.reachableMs), 90)
}])
writeResults('connectivity-dcutr', { runs: RUNS, goGo, jsGo, natedJsGo, reach, ratio: jsMedian / goMedian })
process.exit(0)
