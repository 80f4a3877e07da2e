import { createServer } from 'node:net'
import { expect } from 'aegir/chai'
import { startDashboard } from '../src/server.ts'
import type { Swarm } from '../src/swarm.ts'
import type { Server } from 'node:net'

// the static routes never touch the swarm
const swarm = {} as unknown as Swarm

describe('dashboard server', () => {
  let blocker: Server | undefined

  afterEach(async () => {
    const server = blocker
    blocker = undefined

    if (server != null) {
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('falls back to a free port when the asked one is taken', async () => {
    const server = blocker = createServer()
    const taken = await new Promise<number>(resolve => server.listen(0, '127.0.0.1', () => { resolve((server.address() as { port: number }).port) }))
    const dashboard = await startDashboard(swarm, taken)

    try {
      expect(dashboard.port).to.not.equal(taken)
      expect(dashboard.url).to.equal(`http://127.0.0.1:${dashboard.port}/`)
    } finally {
      await dashboard.close()
    }
  })

  it('serves the page, its script and Chart.js from node_modules, and nothing from elsewhere', async () => {
    const dashboard = await startDashboard(swarm, 0)

    try {
      const page = await (await fetch(dashboard.url)).text()
      const app = await (await fetch(`${dashboard.url}app.js`)).text()
      const chart = await fetch(`${dashboard.url}vendor/chart.umd.js`)

      expect(page).to.include('<script src="/vendor/chart.umd.js"></script>')
      // works offline: no CDN, no remote asset
      expect(`${page}\n${app}`).to.not.match(/(src|href)="https?:|fetch\(['"]https?:|\/\/cdn\./)
      expect(chart.status).to.equal(200)
      expect(chart.headers.get('content-type')).to.match(/javascript/)
      expect((await chart.text()).length).to.be.greaterThan(100_000)
      expect((await fetch(`${dashboard.url}nope`)).status).to.equal(404)
      expect((await fetch(dashboard.url, { method: 'POST' })).status).to.equal(405)
    } finally {
      await dashboard.close()
    }
  })
})
