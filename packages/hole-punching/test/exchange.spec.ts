import { pbStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { MAX_DIALLED_ADDRS, MAX_MESSAGE_SIZE } from '../src/constants.ts'
import { dialableAddrs, initiate, receive } from '../src/exchange.ts'
import { isPublicIPv4 } from '../src/observed.ts'
import { HolePunch } from '../src/pb/message.ts'

const GO = multiaddr('/ip4/17.0.0.1/tcp/4100')
const JS = multiaddr('/ip4/16.0.0.1/tcp/40000')

describe('DCUtR exchange', () => {
  it('encodes CONNECT as the spec does (type 100 in field 1, addresses in field 2)', () => {
    const bytes = HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: [GO.bytes] })
    expect([...bytes.subarray(0, 4)]).to.deep.equal([0x08, 0x64, 0x12, GO.bytes.byteLength])
    expect(HolePunch.decode(HolePunch.encode({ type: HolePunch.Type.SYNC, ObsAddrs: [] })).type).to.equal(HolePunch.Type.SYNC)
  })

  it('initiator and receiver swap addresses; the receiver picks its address only after reading CONNECT', async () => {
    const [a, b] = await streamPair()
    const order: string[] = []
    const receiver = receive(b, async () => { order.push('own addrs'); return [JS] }, isPublicIPv4, {})
    const result = await initiate(a, [GO], isPublicIPv4, () => { order.push('clock'); return order.length }, {})

    expect(result.addrs).to.deep.equal([{ host: '16.0.0.1', port: 40000 }])
    expect(result.rtt).to.be.a('number')
    expect(await receiver).to.deep.equal([{ host: '17.0.0.1', port: 4100 }])
    expect(order).to.deep.equal(['clock', 'own addrs', 'clock'])
  })

  it('the receiver rejects a first message that is not CONNECT', async () => {
    const [a, b] = await streamPair()
    const receiver = receive(b, async () => [JS], isPublicIPv4, {})
    await pbStream(a).pb(HolePunch).write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
    await expect(receiver).to.eventually.be.rejected().with.property('name', 'UnexpectedMessageError')
  })

  it('the initiator rejects a reply that is not CONNECT', async () => {
    const [a, b] = await streamPair()
    const initiator = initiate(a, [GO], isPublicIPv4, () => 0, {})
    const pb = pbStream(b).pb(HolePunch)
    await pb.read()
    await pb.write({ type: HolePunch.Type.SYNC, ObsAddrs: [] })
    await expect(initiator).to.eventually.be.rejected().with.property('name', 'UnexpectedMessageError')
  })

  it('rejects a CONNECT with only private, relayed or undecodable addresses', async () => {
    const [a, b] = await streamPair()
    const receiver = receive(b, async () => [JS], isPublicIPv4, {})
    await pbStream(a).pb(HolePunch).write({
      type: HolePunch.Type.CONNECT,
      ObsAddrs: [multiaddr('/ip4/10.2.0.2/tcp/4100').bytes, multiaddr('/ip4/11.0.0.10/tcp/4001/p2p-circuit').bytes, Uint8Array.from([0xff, 0xff, 0xff])]
    })
    await expect(receiver).to.eventually.be.rejected().with.property('name', 'NoDialableAddressError')
  })

  it('rejects a message over MAX_MESSAGE_SIZE', async () => {
    const [a, b] = await streamPair()
    const receiver = receive(b, async () => [JS], isPublicIPv4, {})
    const big = Array.from({ length: 500 }, () => GO.bytes)
    expect(HolePunch.encode({ type: HolePunch.Type.CONNECT, ObsAddrs: big }).byteLength).to.be.greaterThan(MAX_MESSAGE_SIZE)
    await pbStream(a).pb(HolePunch).write({ type: HolePunch.Type.CONNECT, ObsAddrs: big }).catch(() => {})
    await expect(receiver).to.eventually.be.rejected()
  })

  it('dials at most MAX_DIALLED_ADDRS distinct addresses', () => {
    const raw = Array.from({ length: 10 }, (_, i) => multiaddr(`/ip4/17.0.0.${i % 6 + 1}/tcp/4100`).bytes)
    const addrs = dialableAddrs(raw)
    expect(addrs).to.have.lengthOf(MAX_DIALLED_ADDRS)
    expect(new Set(addrs.map(a => a.host)).size).to.equal(MAX_DIALLED_ADDRS)
  })
})
