/**
 * A first-in first-out queue on a plain array with a moving head: O(1) push and shift, compacted when the consumed
 * prefix dominates. Entries that were cancelled while waiting stay in place and are skipped by the consumer (lazy
 * deletion), so cancelling is O(1) as well.
 *
 * @internal
 */
export class Fifo<A> {
  private items: Array<A | undefined> = []
  private head = 0

  push(value: A): void {
    this.items.push(value)
  }

  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const value = this.items[this.head]
    this.items[this.head] = undefined
    this.head++
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return value
  }

  /** Entries still stored, cancelled ones included. */
  get length(): number {
    return this.items.length - this.head
  }
}
