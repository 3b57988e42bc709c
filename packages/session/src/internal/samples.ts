/**
 * A fixed-size ring of the most recent samples (milliseconds) with nearest-rank percentiles.
 *
 * @internal
 */
export class Samples {
  private readonly values: Float64Array
  private count = 0
  private next = 0

  constructor(readonly capacity: number) {
    this.values = new Float64Array(Math.max(1, capacity))
  }

  add(value: number): void {
    this.values[this.next] = value
    this.next = (this.next + 1) % this.values.length
    if (this.count < this.values.length) this.count++
  }

  /** Nearest-rank percentiles of the samples held (0 when there are none). */
  percentiles(ranks: ReadonlyArray<number>): Array<number> {
    if (this.count === 0) return ranks.map(() => 0)
    const sorted = this.values.slice(0, this.count).sort()
    return ranks.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))] ?? 0)
  }
}
