/**
 * The browser profile built for the browser (esbuild, reading the `browser`
 * field as bundlers do) runs in headless Chromium (system `chromium` through
 * `playwright-core`): it dials a js node on Node over WebSockets, pings it,
 * and reserves a slot on it as a relay, so the service reports `private`.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { build } from 'esbuild'
import { createLibp2p } from 'libp2p'
import { chromium } from 'playwright-core'
import { connectivityPreset } from '../src/index.ts'
import type { PresetServices } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { AddressInfo } from 'node:net'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** What the page runs: the browser preset, a WebSockets dial, a ping, and the NAT status once the relay reservation is held */
const ENTRY = `
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { connectivityPreset } from './dist/src/index.js'

window.run = async (addr) => {
  const node = await createLibp2p(connectivityPreset('browser', {
    bootstrap: [],
    // a browser build of libp2p denies private addresses by default: the test node is on 127.0.0.1
    connectionGater: { denyDialMultiaddr: () => false }
  }))
  const conn = await node.dial(multiaddr(addr))
  const rtt = await node.services.ping.ping(multiaddr(addr))
  const nat = await new Promise((resolve) => {
    const check = () => node.services.connectivity.getNatStatus() === 'private' ? resolve(node.services.connectivity.getMetrics().nat) : setTimeout(check, 100)
    check()
  })
  let serverProfile
  try { connectivityPreset('server') } catch (err) { serverProfile = err.name }
  const result = { remotePeer: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString(), rtt, nat, serverProfile, transports: node.getMultiaddrs().map(String) }
  await node.stop()
  return result
}
`

describe('browser profile in headless Chromium', function () {
  this.timeout(120_000)
  let server: Libp2p<PresetServices> | undefined

  before(function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI != null) {
        throw new Error(`Chromium is required in CI and missing at ${CHROMIUM} (apt-get install -y chromium)`)
      }

      // eslint-disable-next-line no-console
      console.warn(`SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)
      this.skip()
    }
  })

  after(async () => {
    await server?.stop()
  })

  it('dials a js node over WebSockets, pings it and reserves a relay slot on it', async () => {
    server = await createLibp2p(connectivityPreset('development', { peerDiscovery: [], addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] } }))
    const wsAddr = server.getMultiaddrs().find(ma => ma.toString().includes('/ws'))?.toString()
    expect(wsAddr).to.be.a('string')

    const bundle = await build({
      stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent'
    })
    const js = bundle.outputFiles[0].text
    const http = createServer((req, res) => {
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/bundle.js"></script>')
      }
    })
    await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
    const userDataDir = await mkdtemp(join(tmpdir(), 'x-presets-chromium-'))
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })

    try {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', err => errors.push(err.message))
      await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`)
      await page.waitForFunction(() => typeof (window as any).run === 'function', undefined, { timeout: 30_000 })
      const result = await page.evaluate(async (addr) => (window as any).run(addr), wsAddr)

      expect(errors).to.deep.equal([])
      expect(result.remotePeer).to.equal(server.peerId.toString())
      expect(result.remoteAddr).to.include('/ws')
      expect(result.rtt).to.be.a('number')
      expect(result.nat.status).to.equal('private')
      expect(result.nat.reason).to.include('relay reservation')
      expect(result.serverProfile).to.equal('UnsupportedProfileError')
    } finally {
      await context.close()
      await rm(userDataDir, { recursive: true, force: true })
      http.close()
    }
  })
})
