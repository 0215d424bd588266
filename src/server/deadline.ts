/**
 * Deadlines on Store calls. A store that does not answer in time (Redis away with
 * ioredis' default offline queue, a PostgreSQL failover) fails fast with
 * `store-timeout`, so the payer hears "nothing was charged" in well under a few
 * seconds instead of waiting on a queue that may run the call much later. Calls that
 * do run late are harmless: a record left behind is taken over by the payer's retry.
 */
import { MppError } from '../errors.js'
import type { Store } from './Store.js'

export function withDeadlines(store: Store, ms: number): Store {
  const within = <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MppError('store-timeout', `store ${operation} took longer than ${ms} ms`)), ms)
    })
    return Promise.race([Promise.resolve().then(run), timeout]).finally(() => clearTimeout(timer))
  }
  return {
    create: (entries, options) => within('create', () => store.create(entries, options)),
    get: (key) => within('get', () => store.get(key)),
    swap: (key, expected, next, expiresAt) => within('swap', () => store.swap(key, expected, next, expiresAt)),
    set: (key, value, expiresAt) => within('set', () => store.set(key, value, expiresAt)),
    delete: (key) => within('delete', () => store.delete(key)),
  }
}
