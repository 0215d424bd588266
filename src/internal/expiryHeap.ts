/**
 * A binary min-heap of (expiresAt, key): the soonest expiry is always on top, so
 * expired entries are found in O(log n) each whatever order they were added in.
 */
export class ExpiryHeap {
  private readonly times: number[] = []
  private readonly keys: string[] = []

  get size(): number {
    return this.times.length
  }

  push(expiresAt: number, key: string): void {
    this.times.push(expiresAt)
    this.keys.push(key)
    let i = this.times.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.times[parent]! <= this.times[i]!) break
      this.swap(i, parent)
      i = parent
    }
  }

  /** The soonest expiry, or `undefined` when empty. */
  peek(): number | undefined {
    return this.times[0]
  }

  pop(): { expiresAt: number; key: string } | undefined {
    const n = this.times.length
    if (n === 0) return undefined
    const top = { expiresAt: this.times[0]!, key: this.keys[0]! }
    this.swap(0, n - 1)
    this.times.pop()
    this.keys.pop()
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < n - 1 && this.times[left]! < this.times[smallest]!) smallest = left
      if (right < n - 1 && this.times[right]! < this.times[smallest]!) smallest = right
      if (smallest === i) break
      this.swap(i, smallest)
      i = smallest
    }
    return top
  }

  private swap(a: number, b: number): void {
    ;[this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!]
    ;[this.keys[a], this.keys[b]] = [this.keys[b]!, this.keys[a]!]
  }
}
