import * as libp2pErrors from '@libp2p/interface'
import { expect } from 'aegir/chai'
import * as iface from '../src/index.ts'

describe('@x/interface', () => {
  it('names every event once, with a namespace', () => {
    const names = [
      iface.CONNECTION_HEALTH_EVENT, iface.POOL_STATUS_EVENT, iface.POOL_STREAM_EVENT, iface.NAT_STATUS_EVENT,
      iface.PEER_DISCOVERED_EVENT, iface.CONNECTION_ESTABLISHED_EVENT, iface.DIAL_FAILED_EVENT, iface.HOLE_PUNCH_EVENT
    ]

    expect(new Set(names).size).to.equal(names.length)
    for (const name of names) {
      expect(name).to.match(/^[a-z]+:[a-z-]+$/)
    }
  })

  it('names each capability by its npm package', () => {
    expect(iface.CONNECTION_POOL_CAPABILITY).to.equal('@x/connection-pool')
    expect(iface.CONNECTION_HEALTH_CAPABILITY).to.equal('@x/health')
    expect(iface.PUBSUB_PEER_DISCOVERY_CAPABILITY).to.equal('@x/pubsub-peer-discovery')
    expect(iface.UNIVERSAL_CONNECTIVITY_CAPABILITY).to.equal('@x/universal-connectivity')
  })

  it('names only stream-open errors that @libp2p/interface defines', () => {
    const defined = new Set(Object.values(libp2pErrors)
      .filter((value): value is typeof Error => typeof value === 'function' && value.prototype instanceof Error)
      .map(ErrorClass => new ErrorClass().name))

    for (const name of iface.NOT_CONNECTION_FAILURES) {
      expect(defined, name).to.include(name)
    }
  })
})
