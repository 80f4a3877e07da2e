import { expect } from 'aegir/chai'
import { PROBE_STREAM, tapStreams, untapStreams } from '../src/stream-tap.ts'
import type { StreamOutcomeSink } from '../src/stream-tap.ts'
import type { Connection, Stream } from '@libp2p/interface'

function sink (listener: (ok: boolean, name: string | undefined) => void): StreamOutcomeSink {
  return { streamOutcome: (ok, name) => { listener(ok, name) } }
}

function named (name: string): Error {
  const err = new Error(name)
  err.name = name
  return err
}

/** A connection whose newStream resolves, or rejects with the queued errors in turn */
function fakeConnection (failures: Error[] = []): Connection {
  return {
    async newStream () {
      const failure = failures.shift()

      if (failure != null) {
        throw failure
      }

      return {} as unknown as Stream
    }
  } as unknown as Connection
}

describe('stream tap', () => {
  it('reports every outbound stream open, succeeded or failed, whoever opens it', async () => {
    const conn = fakeConnection([named('StreamResetError')])
    const outcomes: Array<[boolean, string | undefined]> = []
    expect(tapStreams(conn, sink((ok, name) => outcomes.push([ok, name])))).to.equal(true)

    await expect(conn.newStream('/a/1.0.0')).to.eventually.be.rejected.with.property('name', 'StreamResetError')
    await conn.newStream('/a/1.0.0')

    expect(outcomes).to.deep.equal([[false, 'StreamResetError'], [true, undefined]])
  })

  it('does not count the health service\'s own probes', async () => {
    const conn = fakeConnection([named('TimeoutError')])
    const outcomes: boolean[] = []
    tapStreams(conn, sink(ok => outcomes.push(ok)))

    await expect(conn.newStream('/ipfs/ping/1.0.0', { [PROBE_STREAM]: true } as any)).to.eventually.be.rejected()
    await conn.newStream('/ipfs/ping/1.0.0', { [PROBE_STREAM]: true } as any)

    expect(outcomes).to.be.empty()
  })

  it('counts a timed-out open but not one the caller cancelled, nor refusals that are not the connection\'s fault', async () => {
    const conn = fakeConnection([named('AbortError'), named('AbortError'), named('UnsupportedProtocolError'), named('TooManyOutboundProtocolStreamsError')])
    const outcomes: Array<string | undefined> = []
    tapStreams(conn, sink((_, name) => outcomes.push(name)))

    const cancelled = new AbortController()
    cancelled.abort()
    const timedOut = new AbortController()
    timedOut.abort(named('TimeoutError'))

    await expect(conn.newStream('/a/1.0.0', { signal: cancelled.signal })).to.eventually.be.rejected()
    await expect(conn.newStream('/a/1.0.0', { signal: timedOut.signal })).to.eventually.be.rejected()
    await expect(conn.newStream('/b/1.0.0')).to.eventually.be.rejected()
    await expect(conn.newStream('/a/1.0.0')).to.eventually.be.rejected()

    expect(outcomes).to.deep.equal(['AbortError'])
  })

  it('restores the connection\'s own newStream when untapped', async () => {
    const conn = fakeConnection()
    const original = conn.newStream
    const outcomes: boolean[] = []
    tapStreams(conn, sink(ok => outcomes.push(ok)))

    expect(conn.newStream).to.not.equal(original)
    untapStreams(conn)
    expect(conn.newStream).to.equal(original)
    await conn.newStream('/a/1.0.0')
    expect(outcomes).to.be.empty()

    // and tapping again works
    tapStreams(conn, sink(ok => outcomes.push(ok)))
    await conn.newStream('/a/1.0.0')
    expect(outcomes).to.deep.equal([true])
  })

  it('leaves a connection it cannot wrap alone', () => {
    const frozen = Object.freeze({ async newStream () { return {} as unknown as Stream } }) as unknown as Connection
    expect(tapStreams(frozen, sink(() => {}))).to.equal(false)
    expect(tapStreams({} as unknown as Connection, sink(() => {}))).to.equal(false)
  })
})
