/**
 * `@x/hole-punching` against go-libp2p in the NAT lab (two cone NATs, or
 * symmetric with `symmetric`), side by side with go <-> go, interleaved run
 * by run so that all three pairs share the machine's load:
 *
 * - go <-> go: NATed go a dials NATed go b over the relay, b hole punches
 *   (go's own EndHolePunch);
 * - js initiates: the NATed js node (host a) dials a NATed go peer (host b)
 *   over the relay, go opens the exchange, js is the DCUtR receiver;
 * - go initiates: a NATed go peer (host b) dials the NATed js node over the
 *   relay, js opens the exchange.
 *
 * A run counts as direct when a direct (non-relayed) connection between the
 * two exists afterwards; the time is from the relayed connect command to the
 * hole punch's end (go's EndHolePunch, or js's outcome when js initiates).
 *
 * Run as root: `node interop/lab/hole-punching-bench.ts [runs] [cone|symmetric]`
 * (wrap in `flock /tmp/x-lab.lock`). Prints a table and one JSON line.
 */
import { labMissingReason, startLab, until } from '../test/lab/lab.ts'
import type { PeerProcess } from '../src/index.ts'

const RUNS = Number(process.argv[2] ?? 20)
const NAT = process.argv[3] === 'symmetric' ? 'symmetric' : 'cone'

/** ms: from the relayed connect command to the hole punch's end; relayedMs: from the relayed connection being open (the command's answer) */
interface Sample { direct: boolean, ms: number, relayedMs?: number, exchangeMs?: number, error?: string }

/** ms from the relayed connection to go's StartHolePunch (identify and the DCUtR exchange done, go dials) */
function exchangeMs (go: PeerProcess, remote: string, relayedAt: number): number {
  const start = go.events.find(e => e.type === 'holepunch' && e.event === 'StartHolePunch' && e.peerId === remote)
  return start == null ? NaN : Number(start.ts) - relayedAt
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const p90 = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)]
}

async function circuitOf (peer: PeerProcess, fromEvents = false): Promise<string> {
  return until('a circuit address', async () => {
    const addrs = fromEvents
      ? peer.events.filter(e => e.type === 'addrs').flatMap(e => e.addrs as string[])
      : (await peer.command<{ addrs: string[] }>('addrs')).addrs
    const circuit = addrs.find(a => a.includes('/p2p-circuit'))
    return circuit == null ? undefined : circuit.includes(`/p2p/${peer.peerId}`) ? circuit : `${circuit}/p2p/${peer.peerId}`
  }, 30_000)
}

async function hasDirect (peer: PeerProcess, remote: string): Promise<boolean> {
  const { conns } = await peer.command<{ conns: any[] }>('conns')
  return conns.some(c => c.peerId === remote && c.limited !== true && !String(c.remoteAddr).includes('/p2p-circuit'))
}

const missing = labMissingReason()
if (missing != null) {
  process.stderr.write(`cannot run the lab: ${missing}\n`)
  process.exit(1)
}

const lab = await startLab(NAT)
const samples: Record<'go-go' | 'js-initiates' | 'go-initiates', Sample[]> = { 'go-go': [], 'js-initiates': [], 'go-initiates': [] }
const log = (pair: keyof typeof samples, i: number): void => {
  const s = samples[pair].at(-1)
  process.stderr.write(`${pair} ${i + 1}/${RUNS}: ${s?.direct === true ? 'direct' : 'no direct'} ${s?.ms} ms${s?.error != null ? ` (${s.error})` : ''}\n`)
}

try {
  await lab.startInfra()
  const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4900'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true, timeoutMs: 3_600_000 })
  const jsCircuit = await circuitOf(js, true)

  for (let i = 0; i < RUNS; i++) {
    // go <-> go
    {
      const a = await lab.natedGo('a')
      const b = await lab.natedGo('b')
      const circuit = await circuitOf(b)
      const started = Date.now()
      try {
        await a.command('connect', { addr: circuit }, 15_000)
        const relayedAt = Date.now()
        const end = await b.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === a.peerId && (e.success === true || Number(e.attempt ?? 0) >= 3), 40_000)
        samples['go-go'].push({ direct: await hasDirect(a, b.peerId), ms: Number(end.ts) - started, relayedMs: Number(end.ts) - relayedAt, exchangeMs: exchangeMs(b, a.peerId, relayedAt), error: end.error })
      } catch (err: any) {
        samples['go-go'].push({ direct: false, ms: NaN, error: err.message })
      }
      await a.stop()
      await b.stop()
      log('go-go', i)
    }

    // js initiates: js dials go over the relay, go is the DCUtR initiator
    {
      const go = await lab.natedGo('b')
      const circuit = await circuitOf(go)
      const started = Date.now()
      try {
        await js.command('connect', { addr: circuit }, 15_000)
        const relayedAt = Date.now()
        const end = await go.waitFor('holepunch', e => e.event === 'EndHolePunch' && e.peerId === js.peerId && e.success === true, 40_000).catch(() => undefined)
        const direct = await hasDirect(go, js.peerId)
        samples['js-initiates'].push({ direct, ms: end != null ? Number(end.ts) - started : NaN, relayedMs: end != null ? Number(end.ts) - relayedAt : NaN, exchangeMs: exchangeMs(go, js.peerId, relayedAt), error: end == null ? JSON.stringify(go.events.filter(e => e.type === 'holepunch' && e.peerId === js.peerId).map(e => e.error ?? e.event)) : undefined })
      } catch (err: any) {
        samples['js-initiates'].push({ direct: false, ms: NaN, error: err.message })
      }
      await go.stop()
      log('js-initiates', i)
    }

    // go initiates: go dials js over the relay, js is the DCUtR initiator
    {
      const go = await lab.natedGo('b')
      const started = Date.now()
      try {
        await go.command('connect', { addr: jsCircuit }, 15_000)
        const relayedAt = Date.now()
        const outcome = await js.waitForNext('x-hole-punch', e => e.peerId === go.peerId && (e.success === true || Number(e.attempt) >= 3 || ['NoPublicAddressError', 'UnsupportedProtocolError', 'TooManyHolePunchesError'].includes(String(e.error))), 60_000)
        const direct = await hasDirect(go, js.peerId)
        samples['go-initiates'].push({ direct, ms: outcome.success === true ? Number(outcome.ts) - started : NaN, relayedMs: outcome.success === true ? Number(outcome.ts) - relayedAt : NaN, exchangeMs: exchangeMs(go, js.peerId, relayedAt), error: outcome.success === true ? undefined : `${String(outcome.error)}: ${String(outcome.message)}` })
      } catch (err: any) {
        samples['go-initiates'].push({ direct: false, ms: NaN, error: err.message })
      }
      await go.stop()
      log('go-initiates', i)
    }
  }

  await js.stop()
} finally {
  await lab.down()
}

const goMedian = median(samples['go-go'].filter(s => s.direct).map(s => s.ms))
const goRelayedMedian = median(samples['go-go'].filter(s => s.direct).map(s => s.relayedMs ?? NaN))
process.stdout.write(`\n${NAT} NATs, ${RUNS} runs each (interleaved)\n\n| pair | direct | median ms connect command -> direct | p90 | ratio to go <-> go | median ms relayed connection open -> direct | p90 | ratio to go <-> go | of which median ms to go's StartHolePunch |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`)
for (const [pair, list] of Object.entries(samples)) {
  const ms = list.filter(s => s.direct).map(s => s.ms)
  const relayed = list.filter(s => s.direct).map(s => s.relayedMs ?? NaN)
  process.stdout.write(`| ${pair} | ${list.filter(s => s.direct).length}/${list.length} | ${median(ms).toFixed(0)} | ${p90(ms).toFixed(0)} | ${(median(ms) / goMedian).toFixed(2)} | ${median(relayed).toFixed(0)} | ${p90(relayed).toFixed(0)} | ${(median(relayed) / goRelayedMedian).toFixed(2)} | ${median(list.filter(s => s.direct).map(s => s.exchangeMs ?? NaN)).toFixed(0)} |\n`)
}
process.stdout.write(JSON.stringify({ nat: NAT, runs: RUNS, samples }) + '\n')
process.exit(0)
