import { streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { FLAG_COMPRESSED, KIND_MESSAGE, KIND_NAME, KIND_REQUEST, KIND_RESPONSE, encodeFrame, encodeRecords } from '../src/codec.ts'
import { deflateRaw } from '../src/compression.ts'
import { waitUntil } from './fixtures/nodes.ts'
import { stubNode } from './fixtures/stubs.ts'
import type { WireRecord } from '../src/codec.ts'
import type { StubNode } from './fixtures/stubs.ts'
import type { Stream } from '@libp2p/interface'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const name = (n: number, value: string): WireRecord => ({ kind: KIND_NAME, n, priority: 0, payload: text(value) })
const message = (n: number, data: Uint8Array = new Uint8Array(4)): WireRecord => ({ kind: KIND_MESSAGE, n, priority: 1, payload: data })
const request = (n: number, id: number): WireRecord => ({ kind: KIND_REQUEST, n, priority: 1, id, payload: new Uint8Array(1) })
const frame = (...records: WireRecord[]): Uint8Array => encodeFrame(encodeRecords(records), 0)

/** Opens a raw stream to the node as peer `from` */
async function rawStream (node: StubNode): Promise<Stream> {
  const other = await stubNode()
  const [outbound, inbound] = await streamPair({ delay: 0 })
  node.inbound(inbound, other.peerId)
  return outbound
}

async function resetWith (stream: Stream, bytes: Uint8Array): Promise<Error | undefined> {
  const closed = new Promise<Error | undefined>(resolve => { stream.addEventListener('close', (evt) => { resolve(evt.error) }, { once: true }) })
  stream.send(bytes)
  return closed
}

describe('bad input resets only its stream, with a named error counted', () => {
  const state: { node?: StubNode, received: string[] } = { received: [] }

  beforeEach(async () => {
    const node = state.node = await stubNode({ limits: { maxFrameBytes: 64 * 1024, maxMessageBytes: 1024, maxNames: 2, maxInflightRequests: 2 } })
    state.received = []
    node.service.handle('chat', (data) => { state.received.push(new TextDecoder().decode(data)) })
    node.service.handle('slow', async () => new Promise(() => {}))
  })

  afterEach(async () => { await state.node?.service.stop() })

  const cases: Array<[string, string, () => Uint8Array]> = [
    ['an oversized frame', 'FrameTooLargeError', () => Uint8Array.from([0x80, 0x80, 0x08, 0])],
    ['an oversized message', 'MessageTooLargeError', () => frame(name(0, 'chat'), message(0, new Uint8Array(1025)))],
    ['a decompression bomb', 'DecompressionLimitError', () => {
      const body = encodeRecords([name(0, 'chat'), ...Array.from({ length: 200 }, () => message(0, new Uint8Array(1000)))])
      return encodeFrame(deflateRaw(body, 9), FLAG_COMPRESSED)
    }],
    ['bad deflate data', 'MalformedFrameError', () => encodeFrame(Uint8Array.from([0xff, 0xfe, 0xfd]), FLAG_COMPRESSED)],
    ['unknown flags', 'MalformedFrameError', () => encodeFrame(encodeRecords([name(0, 'chat')]), 0x04)],
    ['a record running past the body', 'MalformedFrameError', () => encodeFrame(Uint8Array.from([0x00, 0x09, 1]), 0)],
    ['a message for a name without a handler', 'UnknownNameError', () => frame(name(0, 'nobody'), message(0))],
    ['an undefined name id', 'ProtocolViolationError', () => frame(message(1))],
    ['a name id defined twice', 'ProtocolViolationError', () => frame(name(0, 'chat'), name(0, 'chat'))],
    ['too many names', 'TooManyNamesError', () => frame(name(0, 'chat'), name(1, 'a'), name(2, 'b'))],
    ['a name that is not UTF-8', 'MalformedFrameError', () => frame({ kind: KIND_NAME, n: 0, priority: 0, payload: Uint8Array.from([0xff]) })],
    ['a response from the opener', 'ProtocolViolationError', () => frame({ kind: KIND_RESPONSE, n: 0, priority: 0, id: 1, payload: new Uint8Array(0) })],
    ['too many unanswered requests', 'TooManyRequestsError', () => frame(name(0, 'slow'), request(0, 1), request(0, 2), request(0, 3))],
    ['a request id already in flight', 'ProtocolViolationError', () => frame(name(0, 'slow'), request(0, 1), request(0, 1))]
  ]

  for (const [what, errorName, bytes] of cases) {
    it(`${what}: ${errorName}`, async () => {
      const node = state.node as StubNode
      const received = state.received
      const bad = await rawStream(node)
      const good = await rawStream(node)

      const err = await resetWith(bad, bytes())
      expect(err).to.exist()
      expect(node.service.getMetrics().protocolErrors).to.deep.equal({ [errorName]: 1 })

      // the other stream from the same service still works
      good.send(frame(name(0, 'chat'), message(0, text('still here'))))
      await waitUntil(() => received.length === 1)
      expect(received).to.deep.equal(['still here'])
      expect(node.service.getMetrics().inboundStreams).to.equal(1)
    })
  }

  it('answers that cannot be written still count as unanswered: a remote that never reads is reset (TooManyRequestsError)', async () => {
    const node = state.node as StubNode
    node.service.handle('echo', (data) => data)
    const other = await stubNode()
    const [outbound, inbound] = await streamPair({ delay: 0 })
    // the remote never reads: every answer written pushes back and 'drain' never comes
    let framesWritten = 0
    inbound.send = () => { framesWritten++; return false }
    inbound.onDrain = async () => new Promise(() => {})
    node.inbound(inbound, other.peerId)
    const closed = new Promise<Error | undefined>(resolve => { inbound.addEventListener('close', (evt) => { resolve(evt.error) }, { once: true }) })

    outbound.send(frame(name(0, 'echo'), request(0, 1)))
    await waitUntil(() => framesWritten === 1)

    // answer 1 was handed to the stream; 2 and 3 wait behind it (maxInflightRequests: 2); 4 is one too many
    for (let id = 2; id <= 4; id++) {
      outbound.send(frame(request(0, id)))
      await new Promise(resolve => setTimeout(resolve, 20))
    }

    await waitUntil(() => node.service.getMetrics().protocolErrors.TooManyRequestsError === 1)
    const err = await closed
    expect(err).to.have.property('name', 'TooManyRequestsError')
    expect(node.service.getMetrics().protocolErrors).to.deep.equal({ TooManyRequestsError: 1 })
    expect(framesWritten).to.equal(1)
    await other.service.stop()
  })
})
