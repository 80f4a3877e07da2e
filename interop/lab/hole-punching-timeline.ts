/**
 * One hole punch per pair (go <-> go, js dials go, go dials js) through two
 * cone NATs, printed as one timeline of both sides: the js node's debug log
 * lines (timestamped by `debug`) merged with the go peers' events (connection
 * open, identify done, StartHolePunch, EndHolePunch), in ms from the connect
 * command. Where the time goes in `packages/hole-punching/README.md` comes
 * from it. After the runs it prints the median time of each step per pair
 * (ms from the connect command; steps a run did not log are left out of
 * that step's median).
 *
 * Run as root: `node interop/lab/hole-punching-timeline.ts [runs]` (wrap in
 * `flock /tmp/x-lab.lock`). `TIMELINE_DEBUG` replaces the js node's `DEBUG`
 * namespaces.
 */
import { labMissingReason, startLab, until } from '../test/lab/lab.ts'
import type { PeerProcess } from '../src/index.ts'

const RUNS = Number(process.argv[2] ?? 1)
// the js peer inherits the environment
process.env.DEBUG = process.env.TIMELINE_DEBUG ?? 'x:hole-punching*,x:hole-punching:trace,-x:hole-punching:socket*:trace,libp2p:identify*,-libp2p:identify:trace,libp2p:upgrader*,-libp2p:upgrader:trace,libp2p:circuit-relay:transport*,-libp2p:circuit-relay:transport:trace'

type Line = [number, string]

/** The js node's debug lines (`<ISO time> <namespace> <message>`) */
function jsLines (js: PeerProcess): Line[] {
  const lines: Line[] = []
  for (const line of js.stderr) {
    const match = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line)
    if (match != null) { lines.push([Date.parse(match[1]), `js ${match[2]}`]) }
  }
  return lines
}

function goLines (events: Array<Record<string, any>>, tag: string): Line[] {
  return events.filter(e => e.ts != null && !['addrs', 'ping'].includes(String(e.type))).map(e => [Number(e.ts), `${tag} ${JSON.stringify(e)}`])
}

/** A step of a hole punch: its name and the line that marks it (the nth such line, first by default) */
type Step = [string, RegExp, number?]

// go-b is the go initiator in go <-> go; the peer's first connection is the relayed one
const GO_STEPS: Step[] = [
  ['relayed connection open (go)', /^go(-b)? .*"event":"open"/],
  ['identify of the peer done (go)', /^go(-b)? .*"agentVersion"/],
  ['StartHolePunch (go)', /^go(-b)? .*"StartHolePunch"/],
  ['direct connection open (go)', /^go(-b)? .*"event":"open"/, 2],
  ['EndHolePunch (go)', /^go(-b)? .*"EndHolePunch"/]
]
const JS_STEPS: Step[] = [
  ['relayed connection open (js)', /^js libp2p:identify run identify on new connection .*p2p-circuit/],
  ['exchange stream requested (js)', /^js x:hole-punching opening the exchange/],
  ['exchange stream open (js)', /^js x:hole-punching:trace exchange stream open/],
  ['CONNECT sent (js)', /^js x:hole-punching:trace CONNECT sent/],
  ['identify over, SYNC may go (js)', /^js x:hole-punching:trace identify over/],
  ['CONNECT received (js)', /^js x:hole-punching:trace CONNECT from the initiator/],
  ['CONNECT answered (js)', /^js x:hole-punching:trace CONNECT answered/],
  ['SYNC sent (js)', /^js x:hole-punching SYNC sent/],
  ['SYNC received (js)', /^js x:hole-punching SYNC from/],
  ['dial from the port (js)', /^js x:hole-punching punching/],
  ['socket connected, noise starts (js)', /^js x:hole-punching:socket.* encrypting/],
  ['upgraded (js)', /^js x:hole-punching:socket.* successfully upgraded/],
  ['outcome (js)', /^js x:hole-punching \w+ attempt \d+ with/]
]
const steps: Record<string, Record<string, number[]>> = {}

function print (title: string, t0: number, lines: Line[]): void {
  process.stdout.write(`\n=== ${title}\n`)
  const sorted = lines.filter(([ts]) => ts >= t0).sort((a, b) => a[0] - b[0])
  for (const [ts, text] of sorted) {
    process.stdout.write(`${String(ts - t0).padStart(6)} ${text.slice(0, 240)}\n`)
  }
  const pair = (steps[title] ??= {})
  for (const [name, pattern, nth = 1] of [...GO_STEPS, ...JS_STEPS]) {
    const hit = sorted.filter(([, text]) => pattern.test(text))[nth - 1]
    if (hit != null) { (pair[name] ??= []).push(hit[0] - t0) }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function summary (): void {
  for (const [title, pair] of Object.entries(steps)) {
    process.stdout.write(`\n--- ${title}: median ms from the connect command (runs that logged the step)\n`)
    for (const [name, xs] of Object.entries(pair).sort((a, b) => median(a[1]) - median(b[1]))) {
      process.stdout.write(`${median(xs).toFixed(1).padStart(7)}  ${name} (${xs.length})\n`)
    }
  }
}

async function circuitOf (go: PeerProcess): Promise<string> {
  return until('a circuit address of go', async () => {
    const { addrs } = await go.command<{ addrs: string[] }>('addrs')
    const circuit = addrs.find(a => a.includes('/p2p-circuit'))
    return circuit == null ? undefined : circuit.includes(`/p2p/${go.peerId}`) ? circuit : `${circuit}/p2p/${go.peerId}`
  }, 30_000)
}

const missing = labMissingReason()
if (missing != null) {
  process.stderr.write(`cannot run the lab: ${missing}\n`)
  process.exit(1)
}

const lab = await startLab('cone')

try {
  await lab.startInfra()
  const js = await lab.js('a', { listen: ['/ip4/0.0.0.0/tcp/4900'], relays: [lab.relayAddr], reserve: true, connect: lab.autonatAddrs, holePunching: true, timeoutMs: 3_600_000 })
  // keep every log line (the peer process keeps the last 500 by default)
  js.stderr.shift = () => undefined
  const jsCircuit = await until('a circuit address of js', () => js.events.filter(e => e.type === 'addrs').flatMap(e => e.addrs as string[]).find(a => a.includes('/p2p-circuit')), 30_000)
  const circuit = jsCircuit.includes(`/p2p/${js.peerId}`) ? jsCircuit : `${jsCircuit}/p2p/${js.peerId}`

  for (let i = 0; i < RUNS; i++) {
    {
      const a = await lab.natedGo('a')
      const b = await lab.natedGo('b')
      const target = await circuitOf(b)
      const [fromA, fromB] = [a.events.length, b.events.length]
      const t0 = Date.now()
      await a.command('connect', { addr: target }, 15_000)
      await b.waitFor('holepunch', e => e.event === 'EndHolePunch', 40_000).catch(() => undefined)
      print('go <-> go', t0, [...goLines(a.events.slice(fromA), 'go-a'), ...goLines(b.events.slice(fromB), 'go-b')])
      await a.stop()
      await b.stop()
    }
    {
      const go = await lab.natedGo('b')
      const target = await circuitOf(go)
      const from = go.events.length
      const t0 = Date.now()
      await js.command('connect', { addr: target }, 15_000)
      await go.waitFor('holepunch', e => e.event === 'EndHolePunch', 40_000).catch(() => undefined)
      // the js side's last lines
      await new Promise(resolve => setTimeout(resolve, 300))
      print('js dials go (js receives)', t0, [...jsLines(js), ...goLines(go.events.slice(from), 'go')])
      await go.stop()
    }
    {
      const go = await lab.natedGo('b')
      const from = go.events.length
      const t0 = Date.now()
      await go.command('connect', { addr: circuit }, 15_000)
      await js.waitForNext('x-hole-punch', e => e.peerId === go.peerId, 40_000).catch(() => undefined)
      await go.waitFor('holepunch', e => e.event === 'EndHolePunch', 10_000).catch(() => undefined)
      await new Promise(resolve => setTimeout(resolve, 300))
      print('go dials js (js initiates)', t0, [...jsLines(js), ...goLines(go.events.slice(from), 'go')])
      await go.stop()
    }
  }
  await js.stop()
} finally {
  await lab.down()
  summary()
}
process.exit(0)
