/**
 * DCUtR in the NAT lab (interop/lab, needs root, nft and Go), RUNS times each
 * (default 20), in one cone-NAT lab with a go relay and three go AutoNAT servers:
 *
 * - go-go (baseline): a NATed go peer dials another NATed go peer through the
 * relay; success and time from the relayed connect to go's EndHolePunch.
 * - js-go: a public js node (@x/universal-connectivity) dials a NATed go peer
 * with `dialPeer` through the relay the go peer reserved on (its circuit
 * address only: no futile direct attempt). go knows js's public address and
 * dials it back (a connection reversal, no DCUtR exchange): counted apart
 * from hole punches.
 * - NATed js-go: the same from a js node behind the other cone NAT: go has no
 * public address of js, so DCUtR runs and a direct connection is a hole
 * punch; the like-for-like comparison with go-go (8 s upgrade window).
 * Twice: with `@libp2p/dcutr` (the presets' DCUtR) and with
 * `@x/hole-punching` (js receives the exchange and punches).
 * - NATed go -> NATed js (@x/hole-punching): go dials the js node's circuit
 * address, js opens the exchange; the path is the one the service reported
 * for the direct connection, the time from the relayed connection opening on
 * js to it.
 *
 * For each js run: the path `dialPeer` ended on (`hole-punch`, `reversal`,
 * `relay` when nothing replaced the relayed connection in time), and the time
 * from the relayed connection to the direct one.
 * - js reachability: a NATed js node started with a relay reservation; time
 * from spawning it to its circuit address being announced, and to a go
 * peer's ping reaching it through the relay.
 *
 * sudo node bench/connectivity/dcutr.ts [RUNS]
 */
import { labMissingReason, startLab, until } from '../../interop/test/lab/lab.ts'
import { fmt, median, percentile, printTable, writeResults } from '../lib/stats.ts'
import type { PeerProcess } from '../../interop/src/index.ts'

const RUNS = Number(process.argv[2] ?? 20)
const reason = labMissingReason()

if (reason != null) {
  process.stderr.write(`the NAT lab cannot run here: ${reason}\n`)
  process.exit(1)
}

interface Sample { success: boolean, ms: number, error?: string }

/** One js dial: the path it ended on and ms from the relayed connection to the direct one */
interface JsSample { path: string, ms: number, error?: string }

const lab = await startLab('cone')
const goGo: Sample[] = []
const jsGo: JsSample[] = []
const natedJsGo: JsSample[] = []
const natedXJsGo: JsSample[] = []
const goNatedXJs: JsSample[] = []
const reach: Array<{ announcedMs: number, reachableMs: number }> = []

async function circuitOf (peer: PeerProcess): Promise<string> {
  return until('a circuit address', async () => {
    const { p2pAddrs } = await peer.command<{ p2pAddrs: string[] }>('addrs')
    return p2pAddrs.find(a => a.includes('/tcp/') && a.includes('/p2p-circuit/'))
  }, 30_000)
}

/** dialPeer through the go peer's circuit address; ms from the relayed connection opening to the direct one */
async function jsDial (js: PeerProcess, go: PeerProcess, circuit: string): Promise<JsSample> {
  try {
    const result = await js.command<any>('dial', { peerId: go.peerId, addrs: [circuit] }, 60_000)
    const relayMs = result.attempts.find((a: any) => a.path === 'relay' && a.error == null)?.duration ?? 0
    return { path: result.path, ms: result.path === 'relay' ? NaN : result.ms - relayMs }
  } catch (err: any) {
    return { path: 'failed', ms: NaN, error: err.message }
  }
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
    const circuit = await circuitOf(b) // b holds its reservation on the relay
    jsGo.push(await jsDial(js, b, circuit))
    if (jsGo.at(-1)?.error != null) { process.stderr.write(`  js-go: ${jsGo.at(-1)?.error}\n`) }
    await b.stop()
    process.stderr.write(`js-go ${i + 1}/${RUNS}: ${jsGo.at(-1)?.path} ${jsGo.at(-1)?.ms} ms\n`)
  }
  await js.stop()

  // the like-for-like comparison with go-go: js behind the other cone NAT
  const natedJs = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4900'], relays: [lab.relayAddr], connect: lab.autonatAddrs, upgradeTimeout: 8_000, holePunchWindow: 8_000, timeoutMs: 1_800_000 })
  await until('the NATed js node to reach the relay', async () => (await natedJs.command<{ conns: any[] }>('conns')).conns.some(c => c.peerId === lab.relay.peerId) ? true : undefined, 15_000)

  for (let i = 0; i < RUNS; i++) {
    const b = await lab.natedGo('b')
    const circuit = await circuitOf(b)
    natedJsGo.push(await jsDial(natedJs, b, circuit))
    if (natedJsGo.at(-1)?.error != null) { process.stderr.write(`  NATed js-go: ${natedJsGo.at(-1)?.error}\n`) }
    await b.stop()
    process.stderr.write(`NATed js-go ${i + 1}/${RUNS}: ${natedJsGo.at(-1)?.path} ${natedJsGo.at(-1)?.ms} ms\n`)
  }
  await natedJs.stop()

  // the same with @x/hole-punching in place of @libp2p/dcutr (reserved on the relay: peers observe its address)
  const xJs = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4901'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true, upgradeTimeout: 8_000, holePunchWindow: 8_000, timeoutMs: 1_800_000 })
  const xJsCircuit = await until('a circuit address announced by js', () => xJs.events.filter(e => e.type === 'addrs').flatMap(e => e.addrs as string[]).find(a => a.includes('/p2p-circuit')), 30_000)

  for (let i = 0; i < RUNS; i++) {
    const b = await lab.natedGo('b')
    const circuit = await circuitOf(b)
    natedXJsGo.push(await jsDial(xJs, b, circuit))
    if (natedXJsGo.at(-1)?.error != null) { process.stderr.write(`  NATed js (x) -> go: ${natedXJsGo.at(-1)?.error}\n`) }
    await b.stop()
    process.stderr.write(`NATed js (x) -> NATed go ${i + 1}/${RUNS}: ${natedXJsGo.at(-1)?.path} ${natedXJsGo.at(-1)?.ms} ms\n`)
  }

  for (let i = 0; i < RUNS; i++) {
    const b = await lab.natedGo('b')
    const started = Date.now()
    try {
      await b.command('connect', { addr: xJsCircuit.includes(`/p2p/${xJs.peerId}`) ? xJsCircuit : `${xJsCircuit}/p2p/${xJs.peerId}` }, 15_000)
      const opened = await xJs.waitFor('conn', e => e.event === 'open' && e.peerId === b.peerId && !String(e.remoteAddr).includes('/p2p-circuit'), 8_000).catch(() => undefined)
      // from the relayed connection opening on js, as for the js -> go rows
      const relayed = xJs.events.find(e => e.type === 'conn' && e.event === 'open' && e.peerId === b.peerId && String(e.remoteAddr).includes('/p2p-circuit'))
      goNatedXJs.push(opened == null ? { path: 'relay', ms: NaN } : { path: String(opened.path), ms: Number(opened.ts) - Number(relayed?.ts ?? started) })
    } catch (err: any) {
      goNatedXJs.push({ path: 'failed', ms: NaN, error: err.message })
    }
    await b.stop()
    process.stderr.write(`NATed go -> NATed js (x) ${i + 1}/${RUNS}: ${goNatedXJs.at(-1)?.path} ${goNatedXJs.at(-1)?.ms} ms\n`)
  }
  await xJs.stop()

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

const goSummary = (samples: Sample[]): Record<string, string | number> => {
  const ok = samples.filter(s => s.success).map(s => s.ms)
  return {
    runs: samples.length,
    'hole punch': ok.length,
    reversal: '-',
    'relay only': samples.length - ok.length,
    'failed dials': 0,
    'median ms to direct (hole punch)': median(ok),
    'p90 (hole punch)': percentile(ok, 90),
    'median ms to direct (reversal)': NaN,
    'direct (own dial)': 0
  }
}

const jsSummary = (samples: JsSample[]): Record<string, string | number> => {
  const of = (path: string): number[] => samples.filter(s => s.path === path).map(s => s.ms)
  return {
    runs: samples.length,
    'hole punch': of('hole-punch').length,
    reversal: of('reversal').length,
    'relay only': of('relay').length,
    'failed dials': of('failed').length,
    'median ms to direct (hole punch)': median(of('hole-punch')),
    'p90 (hole punch)': percentile(of('hole-punch'), 90),
    'median ms to direct (reversal)': median(of('reversal')),
    'direct (own dial)': of('direct').length
  }
}

const rows = [
  { pair: 'NATed go -> NATed go (baseline)', ...goSummary(goGo) },
  { pair: 'public js -> NATed go', ...jsSummary(jsGo) },
  { pair: 'NATed js -> NATed go (@libp2p/dcutr)', ...jsSummary(natedJsGo) },
  { pair: 'NATed js -> NATed go (@x/hole-punching)', ...jsSummary(natedXJsGo) },
  { pair: 'NATed go -> NATed js (@x/hole-punching)', ...jsSummary(goNatedXJs) }
]
printTable(`DCUtR through a cone NAT, ${RUNS} runs each (reversal and hole punch counted apart)`, rows)
const goMedian = median(goGo.filter(s => s.success).map(s => s.ms))
const natedJsMedian = median(natedJsGo.filter(s => s.path === 'hole-punch').map(s => s.ms))
const xMedian = median(natedXJsGo.filter(s => s.path === 'hole-punch').map(s => s.ms))
const xInitMedian = median(goNatedXJs.filter(s => s.path === 'hole-punch').map(s => s.ms))
process.stdout.write(`NATed js/go median hole-punch time ratio: @libp2p/dcutr ${fmt(natedJsMedian / goMedian)}, @x/hole-punching js -> go ${fmt(xMedian / goMedian)}, go -> js ${fmt(xInitMedian / goMedian)}\n`)
printTable(`NATed js node: from spawn to reachable through the relay, ${RUNS} runs`, [{
  'median ms to circuit address': median(reach.map(r => r.announcedMs)),
  'p90 ms to circuit address': percentile(reach.map(r => r.announcedMs), 90),
  'median ms to reachable (go ping)': median(reach.map(r => r.reachableMs)),
  'p90 ms to reachable': percentile(reach.map(r => r.reachableMs), 90)
}])
writeResults('connectivity-dcutr', { runs: RUNS, goGo, jsGo, natedJsGo, natedXJsGo, goNatedXJs, reach, natedJsToGoHolePunchRatio: natedJsMedian / goMedian, natedXJsToGoHolePunchRatio: xMedian / goMedian, goToNatedXJsHolePunchRatio: xInitMedian / goMedian })
process.exit(0)
