/**
 * `/x/batch/1.1.0` (js -> go, with flow control) and `/x/batch/1.0.0`
 * (go -> js) between `@x/message-batching` and the go peer's own
 * implementation of PROTOCOL.md (interop/go-peer/batch_*.go): messages and
 * requests, js -> go and go -> js, compressed and not.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { messageBatching } from '@x/message-batching'
import { expect } from 'aegir/chai'
import { startGoPeer } from '../src/go-peer.ts'
import { createJsNode } from '../src/js-node.ts'
import { goMissingReason, requireOrSkip } from '../src/requirements.ts'
import { tcpAddr, waitFor } from '../src/util.ts'
import type { GoPeer } from '../src/go-peer.ts'
import type { JsNodeServices } from '../src/js-node.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { MessageBatching, MessageBatchingInit, Priority } from '@x/message-batching'

type Node = Libp2p<JsNodeServices & { batching: MessageBatching }>

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const b64 = (data: Uint8Array): string => Buffer.from(data).toString('base64')
const fromB64 = (s: string | null): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64'))
const PRIORITIES: Priority[] = ['high', 'normal', 'low']

/** Compressible JSON-ish payloads, each different */
const payloads = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => text(JSON.stringify({ seq: i, kind: 'presence', room: `room-${i % 5}`, note: 'x'.repeat(i % 40) })))

for (const compressed of [false, true]) {
  const label = compressed ? 'compressed' : 'uncompressed'
  // js compresses frames from 64 B when compressed, never when not; the go peer uses the same rule
  const jsInit: MessageBatchingInit = { compression: compressed ? { threshold: 64 } : false }
  const goThreshold = compressed ? 64 : -1

  describe(`interop: /x/batch js <-> go (${label})`, function () {
    let go: GoPeer
    let js: Node
    let goId: PeerId

    before(async function () {
      requireOrSkip(this, 'the go-libp2p interop tests', goMissingReason())
    })

    beforeEach(async () => {
      go = await startGoPeer({ name: 'go-batch' })
      js = await createJsNode({ overrides: { services: { batching: messageBatching(jsInit) } as any } }) as Node
      await js.start()
      goId = peerIdFromString(go.peerId)
      await go.command('batch-listen', { names: ['chat'], compressThreshold: goThreshold })
      await js.dial(multiaddr(tcpAddr(go.addrs)))
      // go may register the connection after js does: go -> js dials by peer id, without addresses, so wait for it
      await waitFor(async () => ((await go.command('conns')).conns ?? []).some((c: any) => c.peerId === js.peerId.toString()) ? true : undefined)
    })

    afterEach(async () => {
      await js?.stop()
      await go?.stop()
    })

    it('js sends messages to go: every one arrives, in order per priority, with its priority', async () => {
      const sent = payloads(600)
      await Promise.all(sent.map(async (data, i) => js.services.batching.send(goId, 'chat', data, { priority: PRIORITIES[i % 3] })))

      const got = await waitFor(async () => {
        const r = await go.command('batch-received', {})
        return r.messages?.length === sent.length ? r : undefined
      })
      expect(got.errors).to.deep.equal({})
      for (let p = 0; p < 3; p++) {
        const mine = sent.filter((_, i) => i % 3 === p).map(b64)
        const theirs = got.messages.filter((m: any) => m.priority === p).map((m: any) => m.data)
        expect(theirs).to.deep.equal(mine)
      }
      const metrics = js.services.batching.getMetrics()
      expect(metrics.batchesSent).to.be.lessThan(sent.length)
      if (compressed) {
        expect(got.compressedFrames).to.be.greaterThan(0)
        expect(metrics.compressedBatches).to.be.greaterThan(0)
      } else {
        expect(got.compressedFrames).to.equal(0)
      }
    })

    it('js floods go over /x/batch/1.1.0: go acknowledges every frame, so many windows of messages go through', async () => {
      const n = 5000
      const data = (i: number): Uint8Array => { const d = new Uint8Array(100); new DataView(d.buffer).setUint32(0, i); return d }
      const sends: Array<Promise<void>> = []
      for (let i = 0; i < n; i++) {
        sends.push(js.services.batching.send(goId, 'chat', data(i), { priority: 'low' }))
        if (i % 500 === 499) { await Promise.all(sends.splice(0)) }
      }
      await Promise.all(sends)

      const got = await waitFor(async () => {
        const r = await go.command('batch-received', {})
        return r.messages?.length === n ? r : undefined
      })
      expect(got.errors).to.deep.equal({})
      expect(got.messages.map((m: any) => new DataView(fromB64(m.data).buffer).getUint32(0))).to.deep.equal(Array.from({ length: n }, (_, i) => i))
      const protocols = js.getConnections(goId).flatMap(c => c.streams.map(s => s.protocol)).filter(p => p?.startsWith('/x/batch/'))
      expect(protocols).to.deep.equal(['/x/batch/1.1.0'])
      expect(js.services.batching.getMetrics().protocolErrors).to.deep.equal({})
    })

    it('js requests go: answered by id, no handler and handler errors by name', async () => {
      const inputs = payloads(50)
      const answers = await Promise.all(inputs.map(async data => js.services.batching.request(goId, 'echo', data)))
      expect(answers.map(b64)).to.deep.equal(inputs.map(b64))
      const upper = await js.services.batching.request(goId, 'upper', text('hello go'))
      expect(new TextDecoder().decode(upper)).to.equal('HELLO GO')
      await expect(js.services.batching.request(goId, 'fail', text('x'))).to.eventually.be.rejected.with.property('name', 'RemoteHandlerError')
      await expect(js.services.batching.request(goId, 'nobody', text('x'))).to.eventually.be.rejected.with.property('name', 'NoHandlerError')
    })

    it('go sends messages to js: every one arrives, in order per priority, with its priority', async () => {
      const received: Array<{ data: string, priority: Priority, peer: string }> = []
      js.services.batching.handle('chat', (data, { priority, peer }) => { received.push({ data: b64(data), priority, peer: peer.toString() }) })
      const sent = payloads(450)
      const result = await go.command('batch-send', {
        peerId: js.peerId.toString(),
        name: 'chat',
        messages: sent.map(b64),
        priorities: sent.map((_, i) => i % 3),
        batchSize: 100,
        compressThreshold: goThreshold
      })
      expect(result.frames).to.equal(5)
      expect(result.compressedFrames).to.equal(compressed ? 5 : 0)
      // without flowControl go offers /x/batch/1.0.0 alone: nothing to acknowledge
      expect(result.protocol).to.equal('/x/batch/1.0.0')
      expect(result.ackedFrames).to.equal(0)

      await waitFor(() => received.length === sent.length ? true : undefined)
      expect(received.every(r => r.peer === go.peerId)).to.be.true()
      for (let p = 0; p < 3; p++) {
        expect(received.filter(r => r.priority === PRIORITIES[p]).map(r => r.data)).to.deep.equal(sent.filter((_, i) => i % 3 === p).map(b64))
      }
      expect(js.services.batching.getMetrics().protocolErrors).to.deep.equal({})
    })

    it('go sends messages to js over /x/batch/1.1.0: js acknowledges every frame before go closes the stream (the window of two frames in go is not observed here)', async () => {
      const received: string[] = []
      js.services.batching.handle('chat', (data) => { received.push(b64(data)) })
      const sent = payloads(450)
      const result = await go.command('batch-send', {
        peerId: js.peerId.toString(),
        name: 'chat',
        messages: sent.map(b64),
        batchSize: 50,
        compressThreshold: goThreshold,
        flowControl: true
      })
      expect(result.protocol).to.equal('/x/batch/1.1.0')
      // the first frame carries the name record and 49 messages
      expect(result.frames).to.equal(10)
      // go closes the stream only once every frame is acknowledged
      expect(result.ackedFrames).to.equal(10)
      await waitFor(() => received.length === sent.length ? true : undefined)
      expect(received).to.deep.equal(sent.map(b64))
      expect(js.services.batching.getMetrics().protocolErrors).to.deep.equal({})
    })

    it('go requests js: the js handlers answer by id, a missing handler and a throwing one by status', async () => {
      js.services.batching.handle('echo', (data) => data)
      js.services.batching.handle('fail', () => { throw new Error('js handler failed') })
      const inputs = payloads(40)
      const echo = await go.command('batch-request', { peerId: js.peerId.toString(), name: 'echo', requests: inputs.map(b64), compressThreshold: goThreshold })
      expect(echo.answers.map((a: any) => a.status)).to.deep.equal(inputs.map(() => 0))
      expect(echo.answers.map((a: any) => b64(fromB64(a.data)))).to.deep.equal(inputs.map(b64))
      expect(echo.requestCompressed).to.equal(compressed)
      if (compressed) {
        expect(echo.compressedAnswerFrames).to.be.greaterThan(0)
      } else {
        expect(echo.compressedAnswerFrames).to.equal(0)
      }

      const fail = await go.command('batch-request', { peerId: js.peerId.toString(), name: 'fail', requests: [b64(text('x'))] })
      expect(fail.answers[0].status).to.equal(2)
      expect(new TextDecoder().decode(fromB64(fail.answers[0].data))).to.equal('js handler failed')
      const none = await go.command('batch-request', { peerId: js.peerId.toString(), name: 'nobody', requests: [b64(text('x'))] })
      expect(none.answers[0].status).to.equal(1)
    })
  })
}
