/**
 * The highest gossipsub sequence number accepted from each author (on each
 * topic: the copies of one announcement on several topics have their own
 * seqnos and may arrive out of order).
 * gossipsub's seqno is monotonic per author (js and go seed it from the
 * clock in nanoseconds, so across restarts too): a message whose seqno is
 * not higher than one we accepted is a replay, dropped before it can charge
 * the author's budget (as go-libp2p-pubsub's `BasicSeqnoValidator` does).
 * Bounded: the least recently accepted author is forgotten first.
 */
export class SequenceNumbers {
  private readonly highest = new Map<string, bigint>()
  private readonly maxAuthors: number

  constructor (maxAuthors: number) {
    this.maxAuthors = maxAuthors
  }

  /** Whether `seqno` is higher than any accepted from `author` */
  fresh (author: string, seqno: bigint): boolean {
    const highest = this.highest.get(author)
    return highest == null || seqno > highest
  }

  /** A message of `author` with `seqno` was accepted */
  accept (author: string, seqno: bigint): void {
    this.highest.delete(author)
    this.highest.set(author, seqno)

    while (this.highest.size > this.maxAuthors) {
      this.highest.delete(this.highest.keys().next().value as string)
    }
  }

  clear (): void {
    this.highest.clear()
  }
}
