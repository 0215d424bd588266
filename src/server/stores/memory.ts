import { MppError } from '../../errors.js'
import type { Store } from '../Store.js'

export type MemoryStoreOptions = {
  /**
   * Most live entries held. When full of unexpired entries the store refuses new
   * claims (fails closed) rather than forget a claim and allow a replay.
   */
  maxEntries?: number
  /** Clock, for tests. */
  now?: () => number
}

/**
 * An in-process {@link Store}. Entries expire; expired ones are evicted as new ones
 * arrive (oldest first), so memory stays bounded by the live set. Single-process
 * only: use a shared store (Redis) when several processes serve one realm.
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  const maxEntries = options.maxEntries ?? 1_000_000
  const now = options.now ?? Date.now
  // Map iteration follows insertion order; with similar TTLs that is expiry order,
  // so sweeping from the front finds the expired entries first.
  const entries = new Map<string, { value: string; expiresAt: number }>()

  function live(key: string, at: number) {
    const entry = entries.get(key)
    if (entry && entry.expiresAt <= at) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  function sweep(at: number, budget: number) {
    for (const [key, entry] of entries) {
      if (budget-- <= 0) return
      if (entry.expiresAt <= at) entries.delete(key)
    }
  }

  function insert(key: string, value: string, ttlMs: number, at: number) {
    entries.delete(key) // re-insert at the back so iteration order tracks recency
    sweep(at, 8)
    if (entries.size >= maxEntries) {
      sweep(at, Number.POSITIVE_INFINITY)
      if (entries.size >= maxEntries) throw new MppError('store-failure', 'memory store is full of unexpired entries')
    }
    entries.set(key, { value, expiresAt: at + ttlMs })
  }

  return {
    async putIfAbsent(key, value, ttlMs) {
      const at = now()
      const existing = live(key, at)
      if (existing) return existing.value
      insert(key, value, ttlMs, at)
      return undefined
    },
    async get(key) {
      return live(key, now())?.value
    },
    async set(key, value, ttlMs) {
      insert(key, value, ttlMs, now())
    },
    async delete(key) {
      entries.delete(key)
    },
  }
}

