/**
 * The benches (`bench/run.ts`) and the interop lab (`interop/lab/js-peer.ts`)
 * run `.ts` files directly, which needs a Node that strips types by default:
 * both workspaces state the root's Node floor, not an older one.
 */
import { readFileSync } from 'node:fs'
import { expect } from 'aegir/chai'

const read = (path: string): any => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'))

describe('Node floor', () => {
  const floor = read('../../package.json').engines.node

  it('the root states one', () => {
    expect(floor).to.be.a('string').that.includes('22.18.0')
  })

  for (const workspace of ['bench', 'interop']) {
    it(`${workspace}, which runs .ts files directly, states the root's floor`, () => {
      expect(read(`../../${workspace}/package.json`).engines?.node).to.equal(floor)
    })
  }
})
