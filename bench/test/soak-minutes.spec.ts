/**
 * The soak's minute bookkeeping: each minute counts what finished in it and
 * is checked by its own timer, whatever the wall clock says when that timer fires.
 */
import { expect } from 'aegir/chai'
import { MinuteBook } from '../soak/lib/minutes.ts'

const MINUTE = 60_000

describe('soak minutes', () => {
  let ok: number
  let book: MinuteBook<{ ok: number }>

  beforeEach(() => {
    ok = 0
    book = new MinuteBook({ start: 0, interval: MINUTE, duration: 3 * MINUTE, read: () => ({ ok }) })
  })

  it('a minute counts what finished before its end, not what finished during its grace', () => {
    ok = 100
    book.end(MINUTE)
    ok = 150
    const [m1] = book.take(1)

    expect(m1.minute).to.equal(1)
    expect(m1.snapshot.ok - (m1.previous?.ok ?? 0)).to.equal(100)
  })

  it('a minute is checked by its own timer even when that timer fires before the wall clock reaches its end plus the grace', () => {
    // a timer armed while the event loop was busy fires early by the wall clock (its start was the loop's stale time)
    // (at MINUTE + 10 s - 10 ms by the wall clock: before its end plus the grace)
    ok = 100
    book.end(MINUTE - 5)
    const first = book.take(1)
    ok = 300
    book.end(2 * MINUTE)
    ok = 320
    const second = book.take(2)

    expect(first.map(m => m.minute)).to.deep.equal([1])
    expect(second.map(m => m.minute)).to.deep.equal([2])
    expect(first[0].snapshot.ok - (first[0].previous?.ok ?? 0)).to.equal(100)
    expect(second[0].snapshot.ok - (second[0].previous?.ok ?? 0)).to.equal(200)
  })

  it('the last minute ends with the run, and takeAll() checks what is left', () => {
    book.end(MINUTE)
    book.end(2 * MINUTE)
    const last = book.end(3 * MINUTE + 40)

    expect(last).to.deep.equal({ minute: 3, to: 3 * MINUTE, over: true })
    expect(book.takeAll().map(m => m.minute)).to.deep.equal([1, 2, 3])
    expect(book.takeAll()).to.deep.equal([])
  })

  it('a minute cut short (a signal) ends when it is ended', () => {
    book.end(MINUTE)
    const cut = book.end(MINUTE + 20_000)

    expect(cut).to.deep.equal({ minute: 2, to: MINUTE + 20_000, over: false })
  })

  it('the timer for the next minute is armed for its nominal end: the first minute ends at 1:00 however long the setup took', () => {
    // go peers, swarm and dials took 5 s after the run's start
    expect(book.nextEndIn(5_000)).to.equal(MINUTE - 5_000)
    book.end(MINUTE)
    expect(book.nextEndIn(MINUTE + 30)).to.equal(MINUTE - 30)
    book.end(2 * MINUTE)
    // never past the run's end
    const short = new MinuteBook({ start: 0, interval: MINUTE, duration: 90_000, read: () => ({ ok }) })
    short.end(MINUTE)
    expect(short.nextEndIn(MINUTE)).to.equal(30_000)
  })

  it('a minute ended early by its timer leaves no gap before the next one', () => {
    book.end(MINUTE - 5)
    book.end(2 * MINUTE)
    const [m1, m2] = book.takeAll()

    expect(m1.to).to.equal(MINUTE - 5)
    expect(m2.from).to.equal(MINUTE - 5)
  })
})
