/**
 * The one answer we owe joining peers: a single timer however many ask,
 * brought forward when a newcomer needs it sooner than it is due, and
 * dropped when a relay told every waiting newcomer about us.
 */
export class PendingAnswer {
  private readonly send: () => void
  private timer?: ReturnType<typeof setTimeout>
  private due = Infinity
  /** Whether every newcomer waiting for it reads relayed records */
  private droppable = true

  constructor (send: () => void) {
    this.send = send
  }

  get pending (): boolean {
    return this.timer != null
  }

  /**
   * Answer at `at` (a timestamp, ms) at the latest. `droppable`: the
   * newcomer runs this module, so a relay carrying our record informs it
   */
  request (at: number, droppable: boolean): void {
    this.droppable = this.timer == null ? droppable : this.droppable && droppable

    if (at >= this.due) {
      return
    }

    clearTimeout(this.timer)
    this.due = at
    this.timer = setTimeout(() => {
      this.clear()
      this.send()
    }, Math.max(0, at - Date.now()))
  }

  /** A relay carried our record: no need to answer, if every waiting newcomer reads it */
  relayed (): boolean {
    if (this.timer == null || !this.droppable) {
      return false
    }

    this.clear()
    return true
  }

  /** We announced: that answered everyone waiting */
  clear (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.due = Infinity
    this.droppable = true
  }
}
