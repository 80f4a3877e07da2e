/**
 * The fault cycle on a fake proxy: a fault goes on one connection only while
 * the link has another to fail over to; otherwise the phase says it skipped.
 */
import { expect } from 'aegir/chai'
import { FaultCycle } from '../src/fault-cycle.ts'
import type { FaultEvent } from '../src/fault-cycle.ts'
import type { FaultProxy, ProxiedConnection } from '@x/fault-proxy'

interface FakeConnection { id: number, latency: number, blackhole: boolean }

function fakeProxy (count: number): { proxy: FaultProxy, connections: FakeConnection[] } {
  const connections: FakeConnection[] = Array.from({ length: count }, (_, i) => ({ id: i + 1, latency: 0, blackhole: false }))
  const proxied = connections.map(c => ({
    id: c.id,
    setLatency: (ms: number) => { c.latency = ms },
    setBlackhole: (on: boolean) => { c.blackhole = on },
    clearFaults: () => { c.latency = 0; c.blackhole = false }
  })) as unknown as ProxiedConnection[]
  return { proxy: { connections: proxied } as unknown as FaultProxy, connections }
}

/** Runs one whole cycle (latency, black hole, recovery), noting what each phase did to the connections */
async function oneCycle (proxy: FaultProxy, connections: FakeConnection[], canFault: () => boolean): Promise<{ cycle: FaultCycle, events: FaultEvent[], faulted: FakeConnection[][] }> {
  const events: FaultEvent[] = []
  const faulted: FakeConnection[][] = []
  let cycle: FaultCycle | undefined
  await new Promise<void>(resolve => {
    cycle = new FaultCycle({
      proxy,
      phaseMs: 1,
      startDelay: 0,
      canFault,
      onEvent: (event) => {
        events.push(event)
        faulted.push(connections.filter(c => c.latency > 0 || c.blackhole).map(c => ({ ...c })))

        if (event.phase === 'recovery') {
          cycle?.stop()
          resolve()
        }
      }
    })
    cycle.start()
  })
  return { cycle: cycle as FaultCycle, events, faulted }
}

describe('fault cycle', () => {
  it('faults one of several connections: latency, then a black hole on it, then clears both', async () => {
    const { proxy, connections } = fakeProxy(3)
    const { cycle, events, faulted } = await oneCycle(proxy, connections, () => true)

    expect(events.map(e => e.phase)).to.deep.equal(['latency', 'blackhole', 'recovery'])
    expect(faulted[0]).to.deep.equal([{ id: 1, latency: 150, blackhole: false }])
    expect(faulted[1]).to.deep.equal([{ id: 1, latency: 150, blackhole: true }])
    expect(faulted[2]).to.deep.equal([])
    expect(cycle.cycles).to.equal(1)
    expect(cycle.faultedCycles).to.equal(1)
    // stopped from its own event: no phase left to run (a timer left behind kept the test process alive)
    expect(cycle.running).to.equal(false)
  })

  it('skips a fault, and says so, while the link has no other connection to fail over to', async () => {
    const { proxy, connections } = fakeProxy(1)
    const { cycle, events, faulted } = await oneCycle(proxy, connections, () => false)

    expect(events.map(e => `${e.phase}: ${e.detail}`)).to.deep.equal([
      'latency: skipped: the link has no other connection to fail over to',
      'blackhole: skipped: the link has no other connection to fail over to',
      'recovery: all faults cleared'
    ])
    expect(faulted.flat()).to.deep.equal([])
    expect(cycle.cycles).to.equal(1)
    expect(cycle.faultedCycles).to.equal(0)
    expect(cycle.running).to.equal(false)
  })
})
