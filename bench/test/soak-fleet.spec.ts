/**
 * The soak's go fleet ends every go process it starts, even one whose start
 * was still under way when the soak stopped (Ctrl-C during a kill's down time).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { goMissingReason, requireOrSkip } from '@x/interop'
import { expect } from 'aegir/chai'
import { GoFleet } from '../soak/lib/go-fleet.ts'
import { isAlive } from '../soak/lib/resources.ts'

describe('soak go fleet', function () {
  this.timeout(60_000)
  let dir: string | undefined

  before(async function () {
    requireOrSkip(this, 'go peers', goMissingReason())
    dir = await mkdtemp(join(tmpdir(), 'x-soak-fleet-'))
  })

  after(async () => {
    if (dir != null) {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a go peer whose start ends after stopAll() is stopped, not left behind', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    const starting = fleet.start(0)
    await fleet.stopAll()
    const outcome = await starting.then(() => 'started', (err: Error) => err.name)

    expect(outcome).to.equal('GoFleetStoppedError')
    expect(fleet.pids.filter(isAlive)).to.deep.equal([])
  })

  it('refuses to start a go peer after stopAll()', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    await fleet.stopAll()

    await expect(fleet.start(0)).to.eventually.be.rejected.with.property('name', 'GoFleetStoppedError')
    expect(fleet.pids).to.deep.equal([])
  })
})
