/**
 * The package built for a browser (the way a bundler reads the `browser`
 * field of package.json) pulls in no Node built-in: mDNS (`dgram`), TCP
 * (`net`) and QUIC (a native addon) stay out, and the Node profiles throw
 * `UnsupportedProfileError` there.
 */
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { build } from 'esbuild'

const entry = join(process.cwd(), 'dist', 'src', 'index.js')

describe('browser build', function () {
  this.timeout(60_000)

  it('bundles for the browser without any Node built-in', async () => {
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' })
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter(i => /@libp2p\/(mdns|tcp)\/|libp2p-quic|node-profiles\.js$/.test(i))).to.deep.equal([])
    expect(inputs.some(i => i.endsWith('node-profiles.browser.js'))).to.be.true()
  })
})
