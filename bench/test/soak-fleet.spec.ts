/**
 * The soak's go fleet ends every go process it starts, even one whose start
 * was still under way when the soak stopped (Ctrl-C during a kill's down time).
 */
import { readlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { goMissingReason, requireOrSkip } from '@x/interop'
import { expect } from 'aegir/chai'
import { GoFleet } from '../soak/lib/go-fleet.ts'
import { childProcesses, isAlive } from '../soak/lib/resources.ts'

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

  it('a go peer still starting is not left behind (the check during a kill\'s restart failed the 2-minute soak)', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    const starting = fleet.start(0)

    try {
      // its process is up (a child of ours) before start() knows its pid
      let children: number[] = []
      while (fleet.pids.length === 0 && children.length === 0) {
        await new Promise(resolve => setTimeout(resolve, 5))
        children = childProcesses('go-peer')
      }

      if (fleet.pids.length === 0) {
        expect(fleet.leftBehind(children)).to.equal(0)
      }

      await starting
      expect(fleet.leftBehind(childProcesses('go-peer'))).to.equal(0)
      await fleet.kill(0)
      expect(fleet.leftBehind(childProcesses('go-peer'))).to.equal(0)
    } finally {
      await fleet.stopAll()
      await starting.catch(() => {})
    }
  })

  it('a go process the fleet ended but that is still alive, or one it never knew, is left behind', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    await fleet.start(0)
    const pid = fleet.pids[0]

    try {
      // ended by the fleet's book, yet alive
      fleet.peers[0].state = 'killed'
      expect(fleet.leftBehind([pid])).to.equal(1)
      fleet.peers[0].state = 'running'
      // a child go process nobody started through the fleet
      expect(fleet.leftBehind([pid, 999_999_999])).to.equal(1)
    } finally {
      await fleet.stopAll()
    }
  })

  it('a pid the fleet ended that is alive but is no go child of ours (the pid reused by another process) is not left behind', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    await fleet.start(0)

    try {
      // ended by the fleet's book; its pid alive, but not among our go children: another process has it
      fleet.peers[0].state = 'killed'
      expect(isAlive(fleet.pids[0])).to.equal(true)
      expect(fleet.leftBehind([])).to.equal(0)
    } finally {
      fleet.peers[0].state = 'running'
      await fleet.stopAll()
    }
  })

  it('runs its own copy of the go peer binary (a rebuild for new sources deletes the old one: the 30-minute soak could not restart a killed peer)', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)

    try {
      await fleet.start(0)
      expect(readlinkSync(`/proc/${fleet.pids[0]}/exe`).startsWith(dir as string)).to.equal(true)
    } finally {
      await fleet.stopAll()
    }
  })

  it('refuses to start a go peer after stopAll()', async () => {
    const fleet = new GoFleet(1, dir as string, 60_000)
    await fleet.stopAll()

    await expect(fleet.start(0)).to.eventually.be.rejected.with.property('name', 'GoFleetStoppedError')
    expect(fleet.pids).to.deep.equal([])
  })
})
