/**
 * Where a paying client keeps what it has spent per budget window. `reserve` is the
 * one atomic step: it adds an amount only while the window's total stays within the
 * limit, so concurrent payments can never overspend a budget.
 *
 * A window ends at `expiresAt` (exclusive: at that instant it counts as ended); the
 * end a window opened with is kept. Budgets that must survive a restart or be shared
 * by several agents use a durable ledger: `fileSpendLedger` (one machine),
 * `redisSpendLedger` or `postgresSpendLedger`. Those fail a call they cannot finish in
 * time with `store-failure`, and the paying client then refuses to pay.
 */
export interface SpendLedger {
  /** Adds `amount` to `key`'s total if the new total is ≤ `limit`; true when it did. */
  reserve(key: string, amount: bigint, limit: bigint, expiresAt: number): Promise<boolean>
  /** Gives back a reservation for a payment that was not made (or was refunded). */
  release(key: string, amount: bigint): Promise<void>
  /** The total reserved under `key`. */
  spent(key: string): Promise<bigint>
}

/** An in-process {@link SpendLedger}; windows that have ended are dropped as new ones open. */
export function memorySpendLedger(options: { now?: () => number } = {}): SpendLedger {
  const now = options.now ?? Date.now
  const totals = new Map<string, { spent: bigint; expiresAt: number }>()
  const current = (key: string) => {
    const entry = totals.get(key)
    if (entry && entry.expiresAt <= now()) {
      totals.delete(key)
      return undefined
    }
    return entry
  }
  return {
    async reserve(key, amount, limit, expiresAt) {
      // No await between the read and the write: the check-and-add is atomic.
      const entry = current(key) ?? { spent: 0n, expiresAt }
      if (entry.spent + amount > limit) return false
      entry.spent += amount
      totals.set(key, entry)
      return true
    },
    async release(key, amount) {
      const entry = current(key)
      if (entry) entry.spent = entry.spent > amount ? entry.spent - amount : 0n
    },
    async spent(key) {
      return current(key)?.spent ?? 0n
    },
  }
}
