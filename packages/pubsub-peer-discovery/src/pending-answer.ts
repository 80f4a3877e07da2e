/**
 * The one answer we owe joining peers: a single timer however many ask,
 * brought forward when a newcomer needs it sooner than it is due.
 */
export class PendingAnswer {
  private readonly send: () => void
  private timer?: ReturnType<typeof setTimeout>
  private due = Infinity

  constructor (send: () => void) {
    this.send = send
  }

  get pending (): boolean {
    return this.timer != null
  }

  /** Answer at `at` (a timestamp, ms) at the latest */
  request (at: number): void {
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

  /** We announced: that answered everyone waiting */
  clear (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.due = Infinity
  }
}
