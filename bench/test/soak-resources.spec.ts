import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { expect } from 'aegir/chai'
import { sampleResources } from '../soak/lib/resources.ts'

const MB = 1024 * 1024
type Gc = () => void

/** V8's gc(), as `--expose-gc` gives it to the soak (the test runner does not pass the flag) */
function exposeGc (): Gc {
  const existing = (globalThis as { gc?: Gc }).gc

  if (existing != null) {
    return existing
  }

  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as Gc
}

describe('soak resource samples', () => {
  let installed = false

  before(() => {
    if ((globalThis as { gc?: Gc }).gc == null) {
      (globalThis as { gc?: Gc }).gc = exposeGc()
      installed = true
    }
  })

  after(() => {
    if (installed) {
      delete (globalThis as { gc?: Gc }).gc
    }
  })

  it('array buffers are sampled after the gc freed the dead ones (V8 sweeps array buffers after a major gc, on another thread)', async () => {
    // a settled start: nothing of ours pending a sweep
    sampleResources()
    await new Promise(resolve => setTimeout(resolve, 100))
    const quiet = sampleResources().arrayBuffers
    let dead: Uint8Array[] | undefined = Array.from({ length: 1024 }, () => new Uint8Array(64 * 1024).fill(1))
    expect(process.memoryUsage().arrayBuffers - quiet).to.be.at.least(60 * MB)
    // held a while, as bytes in flight are: old by the time they die
    await new Promise(resolve => setTimeout(resolve, 100))
    sampleResources()
    dead = undefined

    // none of the 64 MB (in 64 KiB buffers, as sockets read) is alive: a sample after a full gc must not count it
    const sample = sampleResources()
    expect(dead).to.equal(undefined)
    expect(sample.arrayBuffers - quiet, `${((sample.arrayBuffers - quiet) / MB).toFixed(1)} MB of dead array buffers counted`).to.be.below(8 * MB)
  })
})
