/**
 * The direct exchange's registrations across start and stop (PROTOCOL.md
 * D5), against a registrar that records them
 */
import { expect } from 'aegir/chai'
import { DirectExchange } from '../src/direct-exchange.ts'
import type { Logger } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

/** Records handlers and topologies; every call settles a turn later, as the peer store's writes do */
function recordingRegistrar (): { registrar: Registrar, handlers: Set<string>, topologies: Set<string> } {
  const handlers = new Set<string>()
  const topologies = new Set<string>()
  let next = 0
  const registrar = {
    handle: async (protocol: string) => { handlers.add(protocol); await new Promise(resolve => setTimeout(resolve, 1)) },
    unhandle: async (protocol: string) => { handlers.delete(protocol); await new Promise(resolve => setTimeout(resolve, 1)) },
    register: async () => { await new Promise(resolve => setTimeout(resolve, 1)); const id = `topology-${next++}`; topologies.add(id); return id },
    unregister: (id: string) => { topologies.delete(id) }
  }
  return { registrar: registrar as unknown as Registrar, handlers, topologies }
}

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => log }) as unknown as Logger

const host = {
  joining: () => true,
  reached: () => false,
  announcement: async () => new Uint8Array(),
  received: () => 'refused' as const,
  drop: () => {},
  exchanged: () => {}
}

describe('direct exchange lifecycle', () => {
  it('a stop and a start while the first start is still registering leave one topology, and none after the last stop', async () => {
    const { registrar, handlers, topologies } = recordingRegistrar()
    const exchange = new DirectExchange(registrar, { maxMessageSize: 16_384, interval: 1000 }, host, log)

    const first = exchange.start()
    exchange.stop()
    const second = exchange.start()
    await Promise.all([first, second])
    expect(topologies.size).to.equal(1)
    expect(handlers.size).to.equal(1)

    exchange.stop()
    expect(topologies.size).to.equal(0)
    expect(handlers.size).to.equal(0)
  })
})
