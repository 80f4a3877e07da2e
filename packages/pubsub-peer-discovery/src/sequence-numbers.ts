/**
 * The highest gossipsub sequence number admitted from each author (on each
 * topic: the copies of one announcement on several topics have their own
 * seqnos and may arrive out of order), PROTOCOL.md R3.
 * gossipsub's seqno is monotonic per author (js and go seed it from the
 * clock in nanoseconds, so across restarts too): a message whose seqno is
 * not higher than one we admitted is a replay, dropped before it can charge
 * the author's budget (as go-libp2p-pubsub's `BasicSeqnoValidator` does).
 *
 * Two bounded tables, so that keys, which are free, cannot buy the
 * eviction of an author we have reasons to keep:
 *
 * The established table holds authors connected to us, or admitted a
 * second time (they outlived one announcement). An entry is replaced only
 * once its author has not been admitted for `expiry` ms (gone); while the
 * table is full of authors heard lately, newcomers stay on probation.
 * The probation table holds every other author, least recently admitted
 * forgotten first. A flood churns this table only: forgetting a fresh
 * author's seqno lets one of its old messages in again, which tells us no
 * more than its first.
 */
interface Entry {
  seqno: bigint
  /** when it was last admitted, ms */
  at: number
}

export interface SequenceNumbersOptions {
  /** Entries of the established table */
  maxEstablished: number
  /** Entries of the probation table */
  maxProbation: number
}

export class SequenceNumbers {
  private readonly established = new Map<string, Entry>()
  private readonly probation = new Map<string, bigint>()
  private readonly options: SequenceNumbersOptions

  constructor (options: SequenceNumbersOptions) {
    this.options = options
  }

  /** Whether `seqno` is higher than any admitted from `author` */
  fresh (author: string, seqno: bigint): boolean {
    const highest = this.established.get(author)?.seqno ?? this.probation.get(author)
    return highest == null || seqno > highest
  }

  /** Whether `author` is in the established table and was admitted within `expiry` ms */
  isEstablished (author: string, now: number, expiry: number): boolean {
    const entry = this.established.get(author)
    return entry != null && now - entry.at < expiry
  }

  /**
   * A message of `author` with `seqno` was admitted at `now`; `connected`:
   * its author is connected to us. Entries of the established table not
   * admitted for `expiry` ms may make room for it
   */
  admit (author: string, seqno: bigint, now: number, connected: boolean, expiry: number): void {
    const known = this.established.get(author)

    if (known != null) {
      // most recently admitted last: the first entry is the oldest
      this.established.delete(author)
      this.established.set(author, { seqno: seqno > known.seqno ? seqno : known.seqno, at: now })
      return
    }

    const earlier = this.probation.get(author)
    this.probation.delete(author)

    if ((connected || earlier != null) && this.makeRoom(now, expiry)) {
      this.established.set(author, { seqno: earlier != null && earlier > seqno ? earlier : seqno, at: now })
      return
    }

    this.probation.set(author, earlier != null && earlier > seqno ? earlier : seqno)

    while (this.probation.size > this.options.maxProbation) {
      this.probation.delete(this.probation.keys().next().value as string)
    }
  }

  /** Entries of each table, for tests and metrics */
  get size (): { established: number, probation: number } {
    return { established: this.established.size, probation: this.probation.size }
  }

  clear (): void {
    this.established.clear()
    this.probation.clear()
  }

  /** Whether the established table has room, after forgetting its oldest entry if that author is gone */
  private makeRoom (now: number, expiry: number): boolean {
    if (this.established.size < this.options.maxEstablished) {
      return true
    }

    const [oldest, entry] = this.established.entries().next().value as [string, Entry]

    if (now - entry.at < expiry) {
      return false
    }

    this.established.delete(oldest)
    return true
  }
}
