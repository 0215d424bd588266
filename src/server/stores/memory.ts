import { MppError } from '../../errors.js'
import { ExpiryHeap } from '../../internal/expiryHeap.js'
import { IN_PROCESS } from '../deadline.js'
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
 * An in-process {@link Store}. Entries expire and are evicted as time passes, soonest
 * expiry first whatever their lifetimes, so memory stays bounded by the live set.
 * Single-process only: use a shared store (Redis) when several processes serve one realm.
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  const maxEntries = options.maxEntries ?? 1_000_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: string; expiresAt: number }>()
  const expiries = new ExpiryHeap()

  function evictExpired(at: number) {
    while ((expiries.peek() ?? Number.POSITIVE_INFINITY) <= at) {
      const { key, expiresAt } = expiries.pop()!
      // A key set again since has a later expiry of its own in the heap: keep it.
      if (entries.get(key)?.expiresAt === expiresAt) entries.delete(key)
    }
    // Replaced keys leave stale heap items behind; rebuild when they dominate.
    if (expiries.size > 2 * entries.size + 1024) {
      const rebuilt = new ExpiryHeap()
      for (const [key, entry] of entries) rebuilt.push(entry.expiresAt, key)
      Object.assign(expiries, rebuilt)
    }
  }

  function live(key: string, at: number) {
    const entry = entries.get(key)
    return entry && entry.expiresAt > at ? entry : undefined
  }

  function insert(key: string, value: string, expiresAt: number, at: number) {
    evictExpired(at)
    if (!entries.has(key) && entries.size >= maxEntries)
      throw new MppError('store-failure', 'memory store is full of unexpired entries')
    entries.set(key, { value, expiresAt })
    expiries.push(expiresAt, key)
  }

  // No await inside any operation: each runs to completion before another starts.
  const store: Store = {
    async create(list, options = {}) {
      const at = now()
      if (options.notAfter !== undefined && at >= options.notAfter) return { created: false, expired: true }
      for (const { key } of list) {
        const existing = live(key, at)
        if (existing) return { created: false, key, value: existing.value }
      }
      evictExpired(at)
      const fresh = new Set(list.map(({ key }) => key)).size
      if (entries.size + fresh > maxEntries) throw new MppError('store-failure', 'memory store is full of unexpired entries')
      for (const { key, value, expiresAt } of list) insert(key, value, expiresAt, at)
      return { created: true }
    },
    async get(key) {
      return live(key, now())?.value
    },
    async swap(key, expected, next, expiresAt) {
      const at = now()
      const existing = live(key, at)
      if (existing?.value !== expected) return false
      if (next === undefined) entries.delete(key)
      // Same expiry: change the value in place (no new heap item for every step of a payment).
      else if (expiresAt === undefined || expiresAt === existing.expiresAt) existing.value = next
      else insert(key, next, expiresAt, at)
      return true
    },
    async set(key, value, expiresAt) {
      insert(key, value, expiresAt, now())
    },
    async delete(key) {
      entries.delete(key)
    },
  }
  return Object.assign(store, { [IN_PROCESS]: true })
}
