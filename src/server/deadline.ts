/**
 * Deadlines on Store calls. A store that does not answer in time (Redis away with
 * ioredis' default offline queue, a PostgreSQL failover) fails fast with
 * `store-timeout`, so the payer hears "nothing was charged" in well under a few
 * seconds instead of waiting on a queue that may run the call much later. Calls that
 * do run late are harmless: a record left behind is taken over by the payer's retry.
 */
import { MppError } from '../errors.js'
import type { Store } from './Store.js'

/** Marks a store that answers from this process's memory and cannot hang: it needs no timers. */
export const IN_PROCESS = Symbol.for('mppkit.store.in-process')

export function withDeadlines(store: Store, ms: number): Store {
  if ((store as { [IN_PROCESS]?: boolean })[IN_PROCESS]) return store
  const within = <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    let call: Promise<T>
    try {
      call = run()
    } catch (error) {
      return Promise.reject(error)
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MppError('store-timeout', `store ${operation} took longer than ${ms} ms`)), ms)
    })
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer))
  }
  return {
    create: (entries, options) => within('create', () => store.create(entries, options)),
    get: (key) => within('get', () => store.get(key)),
    swap: (key, expected, next, expiresAt) => within('swap', () => store.swap(key, expected, next, expiresAt)),
    set: (key, value, expiresAt) => within('set', () => store.set(key, value, expiresAt)),
    delete: (key) => within('delete', () => store.delete(key)),
  }
}
