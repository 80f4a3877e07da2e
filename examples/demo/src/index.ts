/**
 * @packageDocumentation
 *
 * The demo behind `npm start`: a live local swarm of js-libp2p nodes on
 * loopback, each with `@x/connection-pool`, `@x/health`,
 * `@x/pubsub-peer-discovery` (over gossipsub) and `@x/universal-connectivity`
 * (its `development` preset), node 0 also a circuit relay. Nodes find each
 * other from one bootstrap address; pools hold 3 connections per peer; an
 * echo workload runs through the pools; a TCP fault proxy on one link cycles
 * through latency, a black hole and recovery. A status table is printed
 * every few seconds, a dashboard and `/metrics` are served on localhost.
 *
 * @example
 *
 * ```console
 * npm start                                  # 6 nodes until Ctrl-C, dashboard on :8080 (or any free port)
 * npm start -- --nodes 4 --duration 60       # 4 nodes for a minute
 * npm start -- --port 9000 --no-faults       # no fault cycle
 * ```
 */
import { parseDemoOptions } from './options.ts'
import { startDashboard } from './server.ts'
import { snapshot } from './snapshot.ts'
import { Swarm } from './swarm.ts'
import { renderTable } from './table.ts'

const STOP_TIMEOUT = 20_000
const print = (line: string): void => { process.stdout.write(`${line}\n`) }

async function main (): Promise<void> {
  const options = parseDemoOptions(process.argv.slice(2))
  const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<string>()
  process.once('SIGINT', () => { requestStop('SIGINT') })
  process.once('SIGTERM', () => { requestStop('SIGTERM') })

  print(`x demo: starting ${options.nodes} nodes on loopback${options.faults ? ' with a fault cycle' : ''} (Ctrl-C to stop)`)
  const swarm = await Swarm.start({ nodes: options.nodes, faults: options.faults })
  const dashboard = await startDashboard(swarm, options.port)

  print(`dashboard: ${dashboard.url}   metrics: ${dashboard.url}metrics`)

  if (dashboard.port !== options.port && options.port !== 0) {
    print(`(port ${options.port} was taken)`)
  }

  swarm.nodes.forEach((node, i) => { print(`n${i} ${node.peerId.toString()} ${node.getMultiaddrs().map(String).join(' ')}`) })

  const table = setInterval(() => { print(renderTable(snapshot(swarm))) }, options.interval * 1000)
  const timer = options.duration == null ? undefined : setTimeout(() => { requestStop('duration') }, options.duration * 1000)

  const reason = await stopRequested
  clearInterval(table)
  clearTimeout(timer)

  if (reason !== 'duration') {
    print('')
  }

  print(renderTable(snapshot(swarm)))
  print(`stopping (${reason})...`)
  // a second Ctrl-C (default handler again) or this guard ends a stop that hangs
  setTimeout(() => {
    process.stderr.write(`x demo: stopping took more than ${STOP_TIMEOUT / 1000} s, exiting\n`)
    process.exit(1)
  }, STOP_TIMEOUT).unref()
  await dashboard.close()
  await swarm.stop()
  const { ok, failed, retried } = swarm.workload.totals()
  print(`stopped: ${swarm.nodes.length} nodes stopped, fault proxy closed; requests ok ${ok} failed ${failed} (retried ${retried})`)
}

main().then(() => {
  process.exit(0)
}, (err) => {
  process.stderr.write(`x demo failed: ${err.stack ?? err}\n`)
  process.exit(1)
})
