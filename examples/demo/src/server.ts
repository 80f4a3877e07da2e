/**
 * The dashboard server (node:http, no framework): the page and its script
 * from `public/`, Chart.js from node_modules (no CDN: works offline),
 * `/api/state` (swarm, bounded history, timeline), `/metrics` (Prometheus).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderMetrics } from './metrics.ts'
import { snapshot } from './snapshot.ts'
import { linkGroups } from './views.ts'
import type { Swarm } from './swarm.ts'
import type { Server } from 'node:http'

const here = dirname(fileURLToPath(import.meta.url))
// src/ when run from source (tests), dist/src/ when built
const PUBLIC = [join(here, '..', 'public'), join(here, '..', '..', 'public')].find(p => existsSync(join(p, 'index.html'))) ?? join(here, '..', 'public')
const require = createRequire(import.meta.url)
const CHART_JS = join(dirname(require.resolve('chart.js')), 'chart.umd.js')

const STATIC: Record<string, { file: string, type: string }> = {
  '/': { file: join(PUBLIC, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(PUBLIC, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: join(PUBLIC, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/chart.umd.js': { file: CHART_JS, type: 'text/javascript; charset=utf-8' }
}

export interface Dashboard {
  server: Server
  port: number
  url: string
  close(): Promise<void>
}

/** Health events sent to the page (fault events are all sent) */
export const MAX_PAGE_EVENTS = 200

/** At most this many links get RTT and score lines (a 6-node swarm has 15) */
export const MAX_LINKS = 28

/** Everything the page draws, in one response */
export function dashboardState (swarm: Swarm): unknown {
  const view = snapshot(swarm)
  const series = [...swarm.monitor.series.values()]
  const links = linkGroups(series, view.nodes.map(n => `n${n.index}`), swarm.link, MAX_LINKS)
  const drawn = new Set(links.flatMap(l => l.series))

  return {
    ...view,
    // RTT and score lines: the series of the drawn links, grouped by link
    links,
    series: series.filter(s => drawn.has(s.key)),
    streams: [...swarm.monitor.streams.values()],
    // the last 200 health events and every fault event the monitor kept, in order
    events: [
      ...swarm.monitor.events.filter(e => e.kind === 'fault'),
      ...swarm.monitor.events.filter(e => e.kind !== 'fault').slice(-MAX_PAGE_EVENTS)
    ].sort((a, b) => a.at - b.at)
  }
}

async function listen (server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      reject(err)
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve((server.address() as { port: number }).port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, '127.0.0.1')
  })
}

export async function startDashboard (swarm: Swarm, port: number): Promise<Dashboard> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname

    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(body)
    }

    void (async () => {
      try {
        if (req.method !== 'GET') {
          send(405, 'text/plain', 'method not allowed\n')
        } else if (path === '/api/state') {
          send(200, 'application/json', JSON.stringify(dashboardState(swarm)))
        } else if (path === '/metrics') {
          send(200, 'text/plain; version=0.0.4; charset=utf-8', await renderMetrics(swarm))
        } else if (STATIC[path] != null) {
          send(200, STATIC[path].type, await readFile(STATIC[path].file))
        } else {
          send(404, 'text/plain', 'not found\n')
        }
      } catch (err: any) {
        send(500, 'text/plain', `${err.message}\n`)
      }
    })()
  })

  // keep-alive sockets of a browser must not hold the process open on exit
  server.keepAliveTimeout = 1_000
  let bound: number

  try {
    bound = await listen(server, port)
  } catch (err: any) {
    if (err.code !== 'EADDRINUSE' || port === 0) {
      throw err
    }

    bound = await listen(server, 0)
  }

  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}/`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
